// Limen portal: the one small script (no inline scripts; strict CSP).
// - sends the CSRF token with every HTMX request;
// - when a request gets 401 because the access token expired, refreshes the session once
//   (POST /auth/refresh with the HttpOnly cookie) and retries; if that fails, goes to
//   sign-in and comes back here afterwards; any other 401 (a refused sign-in) is shown;
// - copy buttons for secrets shown once.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function here() {
    return window.location.pathname + window.location.search;
  }

  function signInUrl(next) {
    return "/login?next=" + encodeURIComponent(next || here());
  }

  var refreshing = null;
  function refreshSession() {
    // One refresh at a time, shared by every request that needs it.
    if (!refreshing) {
      refreshing = fetch("/auth/refresh", {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" }
      }).then(function (response) {
        return response.ok;
      }).catch(function () {
        return false;
      }).finally(function () {
        setTimeout(function () { refreshing = null; }, 0);
      });
    }
    return refreshing;
  }

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRFToken"] = csrfToken();
  });

  function sessionEnded(xhr) {
    // Only the portal's sign-in guard says "sign in again" (X-Limen-Sign-In); any other 401
    // (a wrong password or code) is a page to show, not an expired session.
    return !!xhr && xhr.status === 401 && xhr.getResponseHeader("X-Limen-Sign-In") !== null;
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.status === 401 && !sessionEnded(xhr)) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("htmx:responseError", function (event) {
    var detail = event.detail;
    if (!sessionEnded(detail.xhr)) {
      return;
    }
    var config = detail.requestConfig || {};
    var elt = detail.elt;
    var next = detail.xhr.getResponseHeader("X-Limen-Sign-In");
    if (elt && elt.dataset && elt.dataset.limenRetried === "1") {
      window.location.assign(next || signInUrl());
      return;
    }
    refreshSession().then(function (ok) {
      if (!ok) {
        window.location.assign(next || signInUrl());
        return;
      }
      var verb = (config.verb || "get").toUpperCase();
      if (verb === "GET") {
        // A navigation: load it again with the fresh cookie.
        window.location.assign(config.path || here());
        return;
      }
      if (elt && elt.dataset) {
        elt.dataset.limenRetried = "1";
      }
      htmx.ajax(verb, config.path, { source: elt, target: detail.target }).finally(function () {
        if (elt && elt.dataset) {
          delete elt.dataset.limenRetried;
        }
      });
    });
  });

  function resume() {
    var box = document.querySelector("[data-limen-resume]");
    if (!box) {
      return;
    }
    var next = box.getAttribute("data-limen-resume") || "/";
    refreshSession().then(function (ok) {
      window.location.replace(ok ? next : box.getAttribute("data-limen-sign-in"));
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) {
      return;
    }
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source || !navigator.clipboard) {
      return;
    }
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      button.textContent = "Copied";
    });
  });

  document.addEventListener("DOMContentLoaded", resume);
  document.addEventListener("htmx:load", resume);
})();
