/* [data-kehu-copy="#input"] button: copy that input's value to the clipboard. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-kehu-copy]");
    if (!button) return;
    var input = document.querySelector(button.getAttribute("data-kehu-copy"));
    if (!input) return;
    var done = function () {
      var label = button.getAttribute("data-kehu-copied");
      if (!label) return;
      var original = button.innerHTML;
      button.textContent = label;
      window.setTimeout(function () { button.innerHTML = original; }, 1500);
    };
    input.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
    } else {
      document.execCommand("copy");
      done();
    }
  });
})();
