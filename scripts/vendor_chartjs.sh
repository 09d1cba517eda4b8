#!/bin/sh
# Vendor Chart.js's UMD build from the npm package into static/vendor/ (no CDN, ever).
# Run from the repository root: sh scripts/vendor_chartjs.sh [version]
set -eu
VERSION="${1:-4.4.7}"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && npm pack --silent "chart.js@$VERSION" >/dev/null && tar xzf "chart.js-$VERSION.tgz")
mkdir -p static/vendor/chartjs
# Without its source map: WhiteNoise's manifest storage would otherwise fail collectstatic looking for it.
sed '/^\/\/# sourceMappingURL=/d' "$TMP/package/dist/chart.umd.js" > static/vendor/chartjs/chart.umd.js
cp "$TMP/package/LICENSE.md" static/vendor/chartjs/LICENSE.md
echo "$VERSION" > static/vendor/chartjs/VERSION
echo "Vendored Chart.js $VERSION into static/vendor/chartjs/"
