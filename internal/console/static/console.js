// Slipway console: live updates. A page whose <main> names a JSON URL in data-poll asks it every
// two seconds (while visible) for a flat object of keys to values; an element with data-live=KEY
// shows the value as text, one with data-state-of=KEY carries it as data-state (its colour).
// An element with data-live-html=KEY holds server-rendered (escaped) markup such as a form: it
// is replaced by the value of KEY only when KEY#sig differs from its data-sig, so a form being
// filled in is left alone until what it is for changes.
(function () {
  "use strict";
  document.querySelectorAll("pre.follow").forEach(function (el) { el.scrollTop = el.scrollHeight; });
  var main = document.querySelector("main[data-poll]");
  if (!main) { return; }
  var url = main.getAttribute("data-poll");
  function apply(values) {
    Object.keys(values).forEach(function (key) {
      var v = String(values[key] == null ? "" : values[key]);
      document.querySelectorAll("[data-live]").forEach(function (el) {
        if (el.getAttribute("data-live") === key && el.textContent !== v) {
          // A following log view stays at its newest line unless the reader scrolled up.
          var atEnd = el.scrollTop + el.clientHeight >= el.scrollHeight - 4;
          el.textContent = v;
          if (el.classList.contains("follow") && atEnd) { el.scrollTop = el.scrollHeight; }
        }
      });
      document.querySelectorAll("[data-state-of]").forEach(function (el) {
        if (el.getAttribute("data-state-of") === key) { el.setAttribute("data-state", v); }
      });
    });
    document.querySelectorAll("[data-live-html]").forEach(function (el) {
      var key = el.getAttribute("data-live-html");
      var sig = values[key + "#sig"];
      if (sig == null || values[key] == null || el.getAttribute("data-sig") === String(sig)) { return; }
      el.innerHTML = String(values[key]);
      el.setAttribute("data-sig", String(sig));
    });
  }
  function poll() {
    if (document.hidden) { return; }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (r.status === 401) { window.location.reload(); return null; }
        return r.ok ? r.json() : null;
      })
      .then(function (v) { if (v) { apply(v); } })
      .catch(function () {});
  }
  setInterval(poll, 2000);
})();
