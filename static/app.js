// Omie Tenant Manager — our own small progressive enhancement (no library).
// Every page works without it; this adds masks, validation while typing and confirmation dialogs.
(function () {
  "use strict";

  function maskCnpj(raw) {
    var s = raw.toUpperCase().replace(/[^0-9A-Z]/g, "").slice(0, 14);
    var out = "";
    for (var i = 0; i < s.length; i++) {
      if (i === 2 || i === 5) out += ".";
      if (i === 8) out += "/";
      if (i === 12) out += "-";
      out += s[i];
    }
    return out;
  }

  function maskPhone(raw) {
    var d = raw.replace(/\D/g, "");
    if (d.length > 11 && d.indexOf("55") === 0) d = d.slice(2);
    d = d.slice(0, 11);
    if (d.length <= 2) return d.length ? "(" + d : "";
    var head = "(" + d.slice(0, 2) + ") ";
    var rest = d.slice(2);
    var split = rest.length > 8 ? 5 : 4;
    return rest.length > split ? head + rest.slice(0, split) + "-" + rest.slice(split) : head + rest;
  }

  function setHint(input, hint, ok, text) {
    if (!hint) return;
    hint.textContent = text;
    hint.className = ok ? "field-ok" : "field-error";
    input.setAttribute("aria-invalid", ok ? "false" : "true");
  }

  // The CNPJ look-up (our own route, which asks the public register): fills the form's
  // empty fields (or those it filled before) and says the situação when not "ATIVA".
  var lookupNote = document.querySelector("[data-lookup-url]");
  document.querySelectorAll("[data-lookup-button]").forEach(function (b) { b.hidden = true; });
  var lookedUp = "";
  function lookup(input) {
    if (!lookupNote || !input.form) return;
    var value = input.value;
    if (value === lookedUp) return;
    lookedUp = value;
    lookupNote.textContent = "Consultando o CNPJ…";
    fetch(lookupNote.getAttribute("data-lookup-url") + "?cnpj=" + encodeURIComponent(value),
          { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (a) {
        if (input.value !== value) return;
        if (a.status === "found") {
          ["legal_name", "trade_name", "email", "phone"].forEach(function (name) {
            var el = input.form.elements[name];
            if (!el || !a[name]) return;
            if (el.value.trim() === "" || el.getAttribute("data-filled") === "1") {
              el.value = a[name];
              el.setAttribute("data-filled", "1");
            }
          });
        }
        lookupNote.textContent = "";
        (a.messages || []).forEach(function (m, i) {
          if (i) lookupNote.appendChild(document.createElement("br"));
          lookupNote.appendChild(document.createTextNode(m));
        });
      })
      .catch(function () {
        lookedUp = "";
        lookupNote.textContent = "Não foi possível consultar o CNPJ agora; preencha os dados à mão.";
      });
  }
  ["legal_name", "trade_name", "email", "phone"].forEach(function (name) {
    document.querySelectorAll("form input[name=" + name + "]").forEach(function (el) {
      el.addEventListener("input", function () { el.removeAttribute("data-filled"); });
    });
  });

  document.querySelectorAll("input[data-cnpj]").forEach(function (input) {
    var hint = document.getElementById(input.getAttribute("aria-describedby"));
    var timer = null;
    var seq = 0;
    function check() {
      var value = input.value;
      var plain = value.replace(/[^0-9A-Za-z]/g, "");
      if (plain.length < 14) {
        if (plain.length > 0 && hint) { hint.textContent = "Continue digitando: o CNPJ tem 14 caracteres."; hint.className = "hint"; }
        return;
      }
      var mine = ++seq;
      fetch("/api/v1/validate/cnpj?value=" + encodeURIComponent(value), { headers: { "Accept": "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (a) {
          if (mine !== seq) return;
          setHint(input, hint, a.valid, a.message);
          if (a.valid && a.formatted) input.value = a.formatted;
          if (a.valid) lookup(input);
        })
        .catch(function () { /* the server checks again on submit */ });
    }
    input.addEventListener("input", function () {
      var pos = input.selectionStart === input.value.length;
      input.value = maskCnpj(input.value);
      if (pos) input.selectionStart = input.selectionEnd = input.value.length;
      clearTimeout(timer);
      timer = setTimeout(check, 250);
    });
    input.addEventListener("blur", check);
  });

  document.querySelectorAll("input[data-phone]").forEach(function (input) {
    input.addEventListener("input", function () { input.value = maskPhone(input.value); });
  });

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var target = document.getElementById(button.getAttribute("data-copy"));
      if (!target || !navigator.clipboard) return;
      navigator.clipboard.writeText(target.textContent.trim()).then(function () {
        button.textContent = "Copiado!";
      });
    });
  });

  document.querySelectorAll("button[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  // "Imprimir" buttons (recovery codes): the browser's print dialog.
  document.querySelectorAll("button[data-print]").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () { window.print(); });
  });

  // The menu is a <details> that folds on a phone; on a wider window it stays open
  // (for browsers whose CSS cannot show a closed <details>), following resizes.
  document.documentElement.classList.add("js");
  var wide = window.matchMedia("(min-width: 761px)");
  function menu() {
    document.querySelectorAll("details.menu").forEach(function (d) { d.open = wide.matches; });
  }
  menu();
  if (wide.addEventListener) wide.addEventListener("change", menu);

  // An expired session keeps what was typed. Before a form is posted, its non-secret
  // fields (never passwords, codes, tokens or hidden fields) are kept in this tab's
  // sessionStorage with the page they came from. If the post lands on the sign-in page
  // with that page as its "next", the copy waits; when the person is back on the page
  // after signing in, the fields are filled again and the copy is dropped. Nothing is
  // ever sent again by itself: the person reviews and submits, with the page's new token.
  var KEEP = "otm-kept-form";
  var SECRET = /pass|senha|secret|segredo|token|otp|csrf|code|codigo|app_key/i;
  function keepable(el) {
    if (!el.name || el.disabled || el.hasAttribute("data-no-keep")) return false;
    var t = (el.type || "").toLowerCase();
    if (t === "password" || t === "hidden" || t === "file" || t === "submit" || t === "button") return false;
    var ac = (el.getAttribute("autocomplete") || "").toLowerCase();
    if (ac.indexOf("password") >= 0 || ac === "one-time-code") return false;
    return !SECRET.test(el.name);
  }
  function here() { return location.pathname + location.search; }
  function readKept() {
    try { return JSON.parse(sessionStorage.getItem(KEEP) || "null"); } catch (e) { return null; }
  }
  try {
    var kept = readKept();
    var nextInput = document.querySelector("form[action^='/login'] input[name=next]");
    if (kept && (location.pathname === "/login" || location.pathname === "/login/code")) {
      if (nextInput && nextInput.value === kept.page) {
        kept.waiting = true;
        sessionStorage.setItem(KEEP, JSON.stringify(kept));
      } else if (!kept.waiting) {
        sessionStorage.removeItem(KEEP);
      }
    } else if (kept) {
      sessionStorage.removeItem(KEEP);
      var form = kept.waiting && kept.page === here() &&
        Array.prototype.find.call(document.forms, function (f) { return f.getAttribute("action") === kept.action; });
      if (form) {
        var restored = false;
        kept.fields.forEach(function (pair) {
          var el = form.elements[pair[0]];
          if (!el || (el.length && !el.tagName)) {
            // radio group or repeated name
            Array.prototype.forEach.call(el || [], function (r) {
              if (keepable(r) && (r.type === "radio" || r.type === "checkbox")) { r.checked = r.value === pair[1]; restored = true; }
            });
            return;
          }
          if (!keepable(el)) return;
          if (el.type === "checkbox" || el.type === "radio") el.checked = pair[1] !== null;
          else el.value = pair[1];
          restored = true;
        });
        if (restored) {
          var note = document.createElement("p");
          note.className = "flash flash-info";
          note.setAttribute("role", "status");
          note.textContent = "Recuperamos o que você tinha digitado. Confira e envie de novo.";
          form.parentNode.insertBefore(note, form);
        }
      }
    }
  } catch (e) { /* storage off: the form simply starts empty */ }
  document.querySelectorAll("form").forEach(function (form) {
    if ((form.getAttribute("method") || "").toLowerCase() !== "post") return;
    var action = form.getAttribute("action") || "";
    if (action.indexOf("/login") === 0 || action === "/logout") return;
    form.addEventListener("submit", function () {
      var fields = [];
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!keepable(el)) return;
        if (el.type === "checkbox" || el.type === "radio") { if (el.checked) fields.push([el.name, el.value]); return; }
        if (el.tagName === "SELECT" && el.multiple) return;
        fields.push([el.name, String(el.value).slice(0, 5000)]);
      });
      if (!fields.length) return;
      try {
        sessionStorage.setItem(KEEP, JSON.stringify({ page: here(), action: action, fields: fields }));
      } catch (e) { /* full or off */ }
    });
  });

  // Confirmations: a dialog of the page, not the browser's confirm(). Each form with
  // data-confirm asks its question in a <dialog> (keyboard: Tab between the buttons,
  // Esc cancels; focus goes back to the button pressed). Without JavaScript the form's
  // own "Confirmo" box (name="confirm") must be ticked, and the server refuses the
  // action without it; here the box is hidden and ticked by "Confirmar".
  var dialog = null;
  function confirmDialog() {
    if (dialog) return dialog;
    dialog = document.createElement("dialog");
    dialog.className = "confirm";
    dialog.setAttribute("aria-labelledby", "confirm-question");
    var text = document.createElement("p");
    text.id = "confirm-question";
    var buttons = document.createElement("form");
    buttons.method = "dialog";
    buttons.className = "actions";
    var no = document.createElement("button");
    no.value = "cancel";
    no.className = "secondary";
    no.textContent = "Cancelar";
    var yes = document.createElement("button");
    yes.value = "ok";
    yes.className = "danger";
    yes.textContent = "Confirmar";
    buttons.appendChild(no);
    buttons.appendChild(yes);
    dialog.appendChild(text);
    dialog.appendChild(buttons);
    document.body.appendChild(dialog);
    return dialog;
  }

  function ask(question, opener, onYes) {
    var d = confirmDialog();
    d.querySelector("p").textContent = question;
    d.returnValue = "";
    d.onclose = function () {
      if (d.returnValue === "ok") { onYes(); return; }
      if (opener && opener.focus) opener.focus();
    };
    d.showModal();
    d.querySelector("button[value=cancel]").focus();
  }

  // A browser without <dialog> keeps the box (required) and no dialog.
  var dialogs = typeof document.createElement("dialog").showModal === "function";
  if (dialogs) document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    var box = form.querySelector("input[name=confirm][type=checkbox]");
    if (box) {
      box.required = false;
      var label = box.closest("label");
      if (label) label.classList.add("js-confirmed");
    }
    form.addEventListener("submit", function (e) {
      if (form.getAttribute("data-confirmed") === "1") return;
      e.preventDefault();
      ask(form.getAttribute("data-confirm"), e.submitter || document.activeElement, function () {
        if (box) box.checked = true;
        form.setAttribute("data-confirmed", "1");
        form.submit();
      });
    });
  });
})();
