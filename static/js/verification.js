// The verification page: ask once a second how far the run has come, move the bar, and show the result when done.
(function () {
  "use strict";
  var box = document.getElementById("verification");
  if (!box) { return; } // the run had finished when the page was made
  var url = box.getAttribute("data-status-url");
  var bar = document.getElementById("verification-progress");
  var state = document.getElementById("verification-state");
  var delay = 1000;

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { if (!response.ok) { throw new Error(String(response.status)); } return response.json(); })
      .then(function (run) {
        bar.value = run.percent;
        bar.textContent = run.percent + "%";
        state.textContent = run.status_label + (run.total ? ": " + run.checked + " of " + run.total + " entries checked." : ".");
        if (run.finished) {
          window.location.reload(); // the page itself says what the run found
          return;
        }
        delay = 1000;
        window.setTimeout(poll, delay);
      })
      .catch(function () {
        delay = Math.min(delay * 2, 15000); // the server is busy or gone: ask less often
        window.setTimeout(poll, delay);
      });
  }
  window.setTimeout(poll, delay);
})();
