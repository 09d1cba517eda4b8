"""Settings for `make run` on a laptop: demo features on, no debug pages unless asked for."""

from .base import *  # noqa: F403
from .base import env

# Off by default so that even the demo never shows a stack trace; DJANGO_DEBUG=true turns it on.
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="local-development-key-not-for-production-use")
PORTAL_DEMO_FEATURES = env.bool("PORTAL_DEMO_FEATURES", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# WhiteNoise serves straight from the app and project static folders: no collectstatic step.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# The demo messenger gateway (`gateway:` in the Procfile, `manage.py demo_gateway`) on loopback,
# signed with a secret that is for this demo only; set both in the environment anywhere else.
PORTAL_GATEWAY_URL = env.str("PORTAL_GATEWAY_URL", default="http://127.0.0.1:8025/messages")
PORTAL_GATEWAY_SECRET = env.str("PORTAL_GATEWAY_SECRET", default="whsec_bG9jYWwtZGVtby1nYXRld2F5LXNlY3JldC1vbmx5ISE=")

# --- Outbound calls: the development exception (http:// and loopback receivers) ----------------
# On for `make run`, and shown on the bank's webhook page; PORTAL_ALLOW_INSECURE_OUTBOUND=false turns it off.
PORTAL_ALLOW_INSECURE_OUTBOUND = env.bool("PORTAL_ALLOW_INSECURE_OUTBOUND", default=True)

# --- The audit trail's checkpoint key: for this demo only (base64 of a 32-byte seed) --------------
AUDIT_SIGNING_KEY = env.str("AUDIT_SIGNING_KEY", default="bG9jYWwtZGVtby1hdWRpdC1jaGVja3BvaW50LWtleSE=")
