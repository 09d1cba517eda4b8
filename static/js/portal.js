// Tell the server the browser's time zone so that dates show in the person's own time.
(function () {
  try {
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz && document.cookie.indexOf("tz=" + tz) === -1) {
      document.cookie = "tz=" + tz + "; path=/; max-age=31536000; SameSite=Lax";
    }
  } catch (e) { /* older browsers: dates stay in UTC */ }
  // Move focus to an error summary so that screen readers announce it.
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector(".error-summary");
    if (summary) { summary.focus(); }
    // Copy buttons beside secrets shown once: the text of an input, a code, or each item of a list.
    if (!navigator.clipboard) { return; }
    document.querySelectorAll(".copy-button").forEach(function (button) {
      var target = document.getElementById(button.getAttribute("data-copy-target"));
      var status = button.parentNode.querySelector(".copy-status");
      if (!target) { return; }
      button.hidden = false;
      button.addEventListener("click", function () {
        var items = target.querySelectorAll("li");
        var text = target.value !== undefined ? target.value
          : items.length ? Array.prototype.map.call(items, function (li) { return li.textContent.trim(); }).join("\n")
          : target.textContent.trim();
        navigator.clipboard.writeText(text).then(function () {
          status.textContent = "Copied.";
        }, function () {
          status.textContent = "Your browser did not let us copy: select the text and copy it yourself.";
        });
      });
    });
  });
})();
