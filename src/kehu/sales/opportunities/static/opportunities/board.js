// The pipeline board's drag and drop: a drop POSTs the move to the server (the service checks
// the stage's requirements); a refused move shows the message and puts the card back.
(function () {
  "use strict";
  function csrfToken() {
    var headers = document.body.getAttribute("hx-headers");
    try { return JSON.parse(headers)["X-CSRFToken"]; } catch (e) { return ""; }
  }
  function showMessage(text, ok) {
    var box = document.getElementById("board-message");
    if (!box) return;
    box.textContent = text;
    box.className = "alert " + (ok ? "alert-success" : "alert-danger");
  }
  function updateTotals(totals) {
    Object.keys(totals).forEach(function (stageId) {
      var box = document.querySelector('[data-testid="totals-' + stageId + '"]');
      if (!box) return;
      var t = totals[stageId];
      box.querySelector('[data-total="count"]').textContent = t.count;
      box.querySelector('[data-total="amount"]').textContent = t.amount_display;
      box.querySelector('[data-total="weighted"]').textContent = t.weighted_display;
    });
  }
  function init() {
    var board = document.getElementById("kehu-board");
    if (!board || !window.Sortable || board.dataset.canChange !== "1") return;
    board.querySelectorAll(".kehu-board-cards").forEach(function (list) {
      window.Sortable.create(list, {
        group: "kehu-board",
        animation: 120,
        forceFallback: true,
        ghostClass: "kehu-card-ghost",
        onAdd: function (evt) {
          var card = evt.item, from = evt.from, oldIndex = evt.oldIndex;
          var column = evt.to.closest(".kehu-board-column");
          var body = new URLSearchParams();
          body.set("stage", evt.to.dataset.stage);
          body.set("version", card.dataset.version);
          if (column.dataset.kind === "lost") {
            var reason = window.prompt(board.dataset.lostPrompt);
            if (reason === null) { from.insertBefore(card, from.children[oldIndex] || null); return; }
            body.set("lost_reason", reason);
          }
          ["owner", "team", "closeFrom", "closeTo"].forEach(function (key) {
            var value = board.dataset["filter" + key.charAt(0).toUpperCase() + key.slice(1)];
            if (value) body.set(key.replace(/[A-Z]/g, function (c) { return "_" + c.toLowerCase(); }), value);
          });
          fetch(board.dataset.moveUrl.replace("{id}", card.dataset.id), {
            method: "POST",
            headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json",
                       "Content-Type": "application/x-www-form-urlencoded" },
            credentials: "same-origin",
            body: body.toString()
          }).then(function (response) {
            return response.json().then(function (data) { return { ok: response.ok, data: data }; });
          }).then(function (result) {
            if (!result.ok || !result.data.ok) {
              from.insertBefore(card, from.children[oldIndex] || null);
              showMessage(result.data.message || board.dataset.error, false);
              return;
            }
            card.dataset.version = result.data.version;
            updateTotals(result.data.totals || {});
            showMessage(result.data.message, true);
            if (column.dataset.kind !== "open") card.remove();
          }).catch(function () {
            from.insertBefore(card, from.children[oldIndex] || null);
            showMessage(board.dataset.error, false);
          });
        }
      });
    });
    board.dataset.ready = "1";
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
