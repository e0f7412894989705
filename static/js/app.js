/* Behaviour every page shares. No inline event handlers: the Content Security Policy refuses
 * them, so elements ask for behaviour with data attributes.
 *
 * data-submit-on-change: a <select> (or any field) that submits its form when changed, e.g. the
 * language switcher.
 */
(function () {
  "use strict";

  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field && field.matches && field.matches("[data-submit-on-change]") && field.form) {
      field.form.submit();
    }
  });
})();

/* data-confirm="question": a submit button that asks before its form is sent. */
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest ? event.target.closest("[data-confirm]") : null;
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
})();
