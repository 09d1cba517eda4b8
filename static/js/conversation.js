// The live conversation: ask for messages newer than the newest shown, and add them (often while an answer is due).
(function () {
  "use strict";
  var list = document.getElementById("chat-messages");
  if (!list) { return; }
  var after = parseInt(list.getAttribute("data-after"), 10) || 0;
  var url = list.getAttribute("data-poll-url");
  var live = document.getElementById("chat-live");
  var delay = 1500;
  var last = list.lastElementChild;
  if (last) { last.scrollIntoView({ block: "nearest" }); }

  function add(message) {
    if (document.getElementById("message-" + message.id)) { return; } // shown already
    var holder = document.createElement("ol");
    holder.innerHTML = message.html; // rendered and escaped by the server's template
    var item = holder.firstElementChild;
    if (!item) { return; }
    list.appendChild(item);
    item.scrollIntoView({ block: "nearest" });
    if (message.from === "bank" && live) { live.textContent = item.querySelector(".chat-text").textContent; }
  }

  // While the person's newest message waits for its answer, ask often; otherwise every 1.5 s.
  function waiting() {
    var newest = list.lastElementChild;
    return !!newest && newest.classList.contains("from-person");
  }

  function poll() {
    fetch(url + "?after=" + after, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { messages: [] }; })
      .then(function (data) {
        data.messages.forEach(function (message) { add(message); after = Math.max(after, message.id); });
        Object.keys(data.states || {}).forEach(function (id) {
          var state = document.querySelector("#message-" + id + " .chat-state");
          if (state) { state.textContent = data.states[id].words; state.className = "chat-state state-" + data.states[id].status; }
        });
        if (data.messages.length) {
          var empty = document.getElementById("chat-empty");
          if (empty) { empty.remove(); }
        }
        delay = waiting() ? 250 : 1500;
      })
      .catch(function () { delay = Math.min(delay * 2, 60000); }) // the server is away: ask less often
      .then(function () { window.setTimeout(poll, delay); });
  }
  window.setTimeout(poll, waiting() ? 250 : delay);
})();
