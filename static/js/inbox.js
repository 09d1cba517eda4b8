// The live inbox: ask every few seconds for messages newer than the newest shown, and add them on top.
(function () {
  "use strict";
  var list = document.getElementById("inbox-messages");
  if (!list || !list.hasAttribute("data-after")) { return; } // only the first page follows new messages
  var after = parseInt(list.getAttribute("data-after"), 10) || 0;
  var url = list.getAttribute("data-poll-url");
  var live = document.getElementById("inbox-live");
  var delay = 3000;

  function add(message) {
    var item = document.createElement("li");
    item.className = "inbox-message unread";
    var title = document.createElement("h2");
    title.className = "inbox-title";
    title.textContent = message.title;
    var meta = document.createElement("p");
    meta.className = "hint";
    meta.textContent = message.bank + " · " + message.created_at;
    var body = document.createElement("p");
    body.textContent = message.body;
    item.appendChild(title);
    item.appendChild(meta);
    item.appendChild(body);
    list.insertBefore(item, list.firstChild);
  }

  function poll() {
    var sep = url.indexOf("?") === -1 ? "?" : "&";
    fetch(url + sep + "after=" + after, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 401) { window.location.reload(); } // the session ended: the page says why
        return response.ok ? response.json() : { messages: [] };
      })
      .then(function (data) {
        data.messages.forEach(function (message) { add(message); after = Math.max(after, message.id); });
        if (data.messages.length) {
          var empty = document.getElementById("inbox-empty");
          if (empty) { empty.remove(); }
          live.textContent = data.messages.length + " new message" + (data.messages.length > 1 ? "s" : "");
        }
        delay = 3000;
      })
      .catch(function () { delay = Math.min(delay * 2, 60000); }) // the server is away: ask less often
      .then(function () { window.setTimeout(poll, delay); });
  }
  window.setTimeout(poll, delay);
})();
