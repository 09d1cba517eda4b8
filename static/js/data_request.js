// A data request's progress bar: ask for its status every second and show how far it has come;
// once it has finished, load the page again so it shows the download (or what went wrong).
(function () {
  "use strict";
  var box = document.getElementById("archive-progress");
  if (!box || box.getAttribute("data-finished") === "true") { return; }
  var url = box.getAttribute("data-status-url");
  var bar = box.querySelector("progress");
  var label = box.querySelector("[data-progress-label]");

  function show(status) {
    bar.value = status.percent;
    bar.textContent = status.percent + "%";
    label.textContent = status.state_label + (status.total ? " (" + status.done + " of " + status.total + " records, " + status.percent + "%)" : "");
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (status) {
        if (!status) { window.setTimeout(poll, 3000); return; }
        show(status);
        if (status.finished) { window.location.reload(); return; }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
