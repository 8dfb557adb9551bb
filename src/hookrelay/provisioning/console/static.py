"""The console's script and stylesheet, served as static routes (``/console/static/<name>``).

Kept as Python strings so they travel in the provisioner's zip with the module (the vendoring copies
``.py`` files only) and need no build step. The script: live refresh (re-fetch the page, swap the
``#live`` part; every ``data-refresh`` seconds, at least 10, only while the tab is visible), a
confirmation on every form with ``data-confirm``. Sorting and filtering are links (server-side).
"""

from __future__ import annotations

SCRIPT = """\
"use strict";
(function () {
  var body = document.body;
  var every = parseInt(body.getAttribute("data-refresh") || "", 10);
  function refresh() {
    if (document.hidden) { return; }
    fetch(window.location.href, {credentials: "same-origin", headers: {"X-Console-Refresh": "1"}})
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (text) {
        var fresh = new DOMParser().parseFromString(text, "text/html").getElementById("live");
        var live = document.getElementById("live");
        if (fresh && live) { live.replaceWith(fresh); }
        var stamp = document.getElementById("refreshed");
        if (stamp) { stamp.textContent = "refreshed " + new Date().toLocaleTimeString(); }
      })
      .catch(function () {
        var stamp = document.getElementById("refreshed");
        if (stamp) { stamp.textContent = "refresh failed; retrying"; }
      });
  }
  if (every >= 10) { window.setInterval(refresh, every * 1000); }
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
})();
"""

STYLE = """\
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d1d1f; background: #fafafa; }
header { background: #22313f; color: #fff; padding: 8px 16px; }
header a { color: #cfe3ff; margin-left: 12px; }
main { padding: 12px 16px; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { border-bottom: 1px solid #e3e3e3; padding: 4px 6px; text-align: left; vertical-align: top; }
th a { color: inherit; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { border-radius: 8px; padding: 0 6px; font-size: 12px; background: #e8e8e8; }
.badge.active, .badge.delivered { background: #d9f2dd; }
.badge.disabled, .badge.gone, .badge.dead_lettered, .badge.paused { background: #f7d4d4; }
.badge.retry_scheduled, .badge.provisioning { background: #fbecc4; }
.excerpt { font-family: ui-monospace, monospace; font-size: 12px; white-space: pre-wrap;
  word-break: break-all; max-width: 420px; }
.notice { background: #e7f1ff; padding: 6px 10px; margin: 8px 0; }
.error { background: #fde2e2; padding: 6px 10px; margin: 8px 0; }
.secret { font-family: ui-monospace, monospace; background: #fff7d6; padding: 6px; }
form.inline { display: inline-block; margin-right: 8px; }
.filters input, .filters select { margin-right: 6px; }
#refreshed { color: #777; font-size: 12px; }
pre.payload { background: #fff; border: 1px solid #e3e3e3; padding: 8px; max-height: 320px; overflow: auto; }
form.replay input { margin-right: 6px; }
dl { display: grid; grid-template-columns: max-content auto; gap: 2px 12px; }
dt { color: #555; }
"""

FILES = {"console.js": ("text/javascript", SCRIPT), "console.css": ("text/css", STYLE)}
