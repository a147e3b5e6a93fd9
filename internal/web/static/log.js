// Follows a task's log: polls for new lines and the task's state until the
// task has finished and every line has come (an answer holds a page of
// lines). Without JavaScript the page shows the log as it was.
(function () {
  "use strict";
  var log = document.getElementById("log");
  if (!log || log.dataset.done === "true") return;
  var src = log.dataset.src, after = Number(log.dataset.after || 0);
  var stateEl = document.getElementById("task-state");
  var errEl = document.getElementById("task-error");
  var statusEl = document.getElementById("log-status");
  var cancel = document.getElementById("cancel-form");
  var intervention = document.getElementById("intervention");
  var delay = 500;

  function atBottom() {
    return log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  }
  function poll() {
    fetch(src + "?after=" + after, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (u) {
        var follow = atBottom();
        u.lines.forEach(function (l) {
          var span = document.createElement("span");
          span.className = "line " + l.level;
          span.textContent = l.text;
          log.appendChild(span);
          log.appendChild(document.createTextNode("\n"));
          after = l.seq;
        });
        if (follow && u.lines.length) log.scrollTop = log.scrollHeight;
        var st = document.createElement("span");
        st.className = "state " + u.class;
        st.textContent = u.label;
        stateEl.replaceChildren(st);
        if (u.error) { errEl.textContent = u.error; errEl.hidden = false; }
        // A decision made elsewhere (another person, the CLI, a timeout):
        // the buttons no longer apply.
        if (intervention && u.state !== "Waiting") intervention.remove();
        // The deployment reached a manual intervention: show its buttons.
        if (!intervention && u.state === "Waiting") { location.reload(); return; }
        if (u.done && !u.lines.length) {
          statusEl.textContent = "The task has finished.";
          if (cancel) cancel.remove();
          return;
        }
        delay = u.lines.length ? 500 : Math.min(delay * 1.5, 2000);
        setTimeout(poll, delay);
      })
      .catch(function (e) {
        statusEl.textContent = "Lost the log (" + e.message + "); reload the page to try again.";
      });
  }
  setTimeout(poll, 300);
})();
