(function () {
  "use strict";
  // copy a reproducer; the clipboard API may be unavailable on file://, so fall back to a selection
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button.copy");
    if (!button) return;
    var pre = document.getElementById(button.getAttribute("data-target"));
    if (!pre) return;
    var text = pre.textContent;
    function done(ok) {
      button.textContent = ok ? "copied" : "select + copy manually";
      setTimeout(function () { button.textContent = "copy"; }, 1500);
    }
    function fallback() {
      var range = document.createRange();
      range.selectNodeContents(pre);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      done(ok);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
    } else {
      fallback();
    }
  });
  // jumping to a cell inside the collapsed "all cells" list opens it
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id && document.getElementById(id);
    if (!el) return;
    for (var d = el.closest("details"); d; d = d.parentElement && d.parentElement.closest("details")) {
      d.open = true;
    }
    el.scrollIntoView();
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
})();
