// While a visit's central scores are pending, ask the station every 2 s whether anything changed
// (a new reading, the result) and reload then — unless someone is filling in a form.
(function () {
  "use strict";
  var printButton = document.querySelector("[data-print]");
  if (printButton) { printButton.addEventListener("click", function () { window.print(); }); }
  var body = document.body, url = body.dataset.poll, token = body.dataset.token;
  if (!url) { return; }
  var dirty = false;
  document.addEventListener("input", function () { dirty = true; });
  function busy() {
    var active = document.activeElement;
    return dirty || (active && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName));
  }
  setInterval(function () {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (state) {
        if (state && state.token !== token && !busy()) { window.location.reload(); }
      })
      .catch(function () {});
  }, 2000);
})();
