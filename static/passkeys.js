// Limen passkeys: the WebAuthn ceremonies (no inline scripts; strict CSP).
// A form marked data-passkey-register / data-passkey-sign-in / data-passkey-second-step is
// shown only where the browser has passkeys; on submit it asks the URL in that attribute for
// options (JSON, base64url fields), lets navigator.credentials create or get a credential,
// puts the answer (JSON, base64url fields) in the form's hidden field and submits the form.
// Without JavaScript these forms stay hidden and everything else works as before.
(function () {
  "use strict";

  function supported() {
    return !!(window.PublicKeyCredential && navigator.credentials && window.fetch);
  }

  function toBytes(value) {
    var text = value.replace(/-/g, "+").replace(/_/g, "/");
    while (text.length % 4) {
      text += "=";
    }
    var raw = atob(text);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function toText(buffer) {
    if (!buffer) {
      return null;
    }
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) {
      raw += String.fromCharCode(bytes[i]);
    }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      var copy = { type: item.type, id: toBytes(item.id) };
      if (item.transports) {
        copy.transports = item.transports;
      }
      return copy;
    });
  }

  function creationOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = toBytes(json.challenge);
    options.user = Object.assign({}, json.user, { id: toBytes(json.user.id) });
    options.excludeCredentials = descriptors(json.excludeCredentials);
    return options;
  }

  function requestOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = toBytes(json.challenge);
    options.allowCredentials = descriptors(json.allowCredentials);
    return options;
  }

  function answer(credential) {
    var response = credential.response;
    var out = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toText(response.clientDataJSON) }
    };
    if (response.attestationObject) {
      out.response.attestationObject = toText(response.attestationObject);
      out.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      out.response.authenticatorData = toText(response.authenticatorData);
      out.response.signature = toText(response.signature);
      out.response.userHandle = toText(response.userHandle);
    }
    return JSON.stringify(out);
  }

  function csrfToken(form) {
    var field = form.querySelector('input[name="csrf_token"]');
    var meta = document.querySelector('meta[name="csrf-token"]');
    return field ? field.value : meta ? meta.getAttribute("content") : "";
  }

  function showError(form, message) {
    var box = form.parentNode.querySelector("[data-passkey-error]");
    if (!box) {
      return;
    }
    box.textContent = message;
    box.hidden = false;
    box.setAttribute("tabindex", "-1");
    box.focus();
  }

  function describe(error) {
    if (error && error.name === "NotAllowedError") {
      return "The passkey request was cancelled or timed out. Try again, or use your password.";
    }
    if (error && error.name === "InvalidStateError") {
      return "This device already holds a passkey for your account.";
    }
    return (error && error.message) || "The passkey could not be used. Try again.";
  }

  function post(form, url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(form), "Accept": "application/json" },
      body: body
    });
  }

  function fetchOptions(form, url, signedIn) {
    var body = new URLSearchParams();
    var ticket = form.querySelector('input[name="ticket"]');
    if (ticket) {
      body.set("ticket", ticket.value);
    }
    return post(form, url, body).then(function (response) {
      if (signedIn && (response.status === 401 || response.redirected)) {
        // The access token expired while the page was open (a 401, or the way to sign-in):
        // refresh the session once with the HttpOnly refresh cookie, then ask again; the
        // answer is then posted with the new token.
        return post(form, "/auth/refresh").then(function (refreshed) {
          if (!refreshed.ok) {
            throw new Error("Your session has ended; sign in again to add a passkey.");
          }
          return post(form, url, body);
        });
      }
      return response;
    }).then(function (response) {
      return response.json().catch(function () {
        return {};
      }).then(function (json) {
        if (!response.ok) {
          throw new Error(json.detail || "The server refused to start a passkey request.");
        }
        return json;
      });
    });
  }

  function ceremony(form, kind) {
    var url = form.getAttribute("data-passkey-" + kind);
    var field = form.querySelector(kind === "second-step" ? 'input[name="passkey"]' : 'input[name="credential"]');
    return fetchOptions(form, url, kind === "register").then(function (json) {
      if (kind === "register") {
        return navigator.credentials.create({ publicKey: creationOptions(json) });
      }
      return navigator.credentials.get({ publicKey: requestOptions(json) });
    }).then(function (credential) {
      if (!credential) {
        throw new Error("No passkey was chosen.");
      }
      field.value = answer(credential);
      form.submit();
    });
  }

  var KINDS = ["register", "sign-in", "second-step"];

  function setUp(root) {
    if (!supported()) {
      return;
    }
    (root || document).querySelectorAll("[data-passkey-nojs]").forEach(function (note) {
      note.hidden = true;
    });
    KINDS.forEach(function (kind) {
      (root || document).querySelectorAll("form[data-passkey-" + kind + "]").forEach(function (form) {
        if (form.dataset.passkeyReady === "1") {
          return;
        }
        form.dataset.passkeyReady = "1";
        form.hidden = false;
        form.addEventListener("submit", function (event) {
          event.preventDefault();
          var button = form.querySelector('button[type="submit"]');
          if (button) {
            button.disabled = true;
          }
          ceremony(form, kind).catch(function (error) {
            showError(form, describe(error));
          }).finally(function () {
            if (button) {
              button.disabled = false;
            }
          });
        });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUp(document);
  });
  document.addEventListener("htmx:load", function (event) {
    setUp(event.target);
  });
})();
