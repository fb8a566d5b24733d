/* tokenauthd portal: the copy button (the only script; no inline script). */
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-copy]").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () {
      var el = document.getElementById(b.getAttribute("data-copy"));
      var status = document.getElementById(b.getAttribute("data-status"));
      var text = el ? el.textContent : "";
      var done = function () { if (status) status.textContent = "Copied."; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () {
          if (status) status.textContent = "Select the text and copy it.";
        });
      } else {
        var r = document.createRange();
        r.selectNodeContents(el);
        var s = window.getSelection();
        s.removeAllRanges();
        s.addRange(r);
        if (status) status.textContent = "Selected: press Ctrl+C.";
      }
    });
  });
});
