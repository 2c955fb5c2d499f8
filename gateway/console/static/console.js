// The console's own small script.  Every page works without it; it adds a confirmation before
// actions that cannot be undone, inline validation of fields, and polling of reports until
// they are ready.
(function () {
  "use strict";

  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var text = (button && button.getAttribute("data-confirm")) || event.target.getAttribute("data-confirm");
    if (text && !window.confirm(text)) {
      event.preventDefault();
    }
  });

  function say(input) {
    var id = (input.getAttribute("aria-describedby") || "").split(" ").filter(function (part) {
      return /-problem$/.test(part);
    })[0];
    var slot = id && document.getElementById(id);
    if (!slot) { return; }
    if (input.validity.valid || input.value === "") {
      if (slot.getAttribute("data-inline") === "1") { slot.hidden = true; slot.textContent = ""; }
      input.removeAttribute("aria-invalid");
    } else {
      slot.textContent = input.validationMessage;
      slot.hidden = false;
      slot.setAttribute("data-inline", "1");
      input.setAttribute("aria-invalid", "true");
    }
  }

  // While typing, not on leaving the field: a message that appeared as the focus moved to
  // the submit button would push the button away from under the pointer.
  document.addEventListener("input", function (event) {
    var input = event.target;
    if (input.matches && input.matches(".field input, .field select")) {
      say(input);
    }
  });

  function poll(row) {
    var url = row.getAttribute("data-poll");
    if (!url) { return; }
    window.setTimeout(function () {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (answer) { return answer.ok ? answer.text() : null; })
        .then(function (html) {
          if (html === null) { return; }
          var holder = document.createElement("tbody");
          holder.innerHTML = html.trim();
          var fresh = holder.querySelector("tr");
          if (fresh) {
            row.replaceWith(fresh);
            poll(fresh);
          }
        })
        .catch(function () { poll(row); });
    }, 1500);
  }

  document.querySelectorAll("[data-poll]").forEach(poll);
})();
