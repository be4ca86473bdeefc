// OAuth 2.0 Form Post Response Mode: submit the authorization response to the client at
// once. A static script because Limen's CSP allows no inline script (form_post.html).
(function () {
  "use strict";
  var form = document.querySelector("form[data-limen-form-post]");
  if (form) {
    form.submit();
  }
})();
