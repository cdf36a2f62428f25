/* The resident portal's little JavaScript. Every page works without it; it only helps:
   - focuses the error summary / receipt, so a screen reader reads it first;
   - keeps a form from being sent twice (the server is idempotent as well);
   - shows notify's messages on the track page (GET {notify}/v1/inbox/{code}, allowed by notify's CORS). */
(function () {
  "use strict";

  var first = document.querySelector("[data-focus-first]");
  if (first) {
    first.focus();
  }

  // The copy button of a tracking code: shown only where this script runs; without it the code is text.
  Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (button) {
    var status = button.parentNode.querySelector("[data-copy-status]");
    function done() {
      if (status) {
        status.textContent = button.getAttribute("data-copied");
      }
      button.setAttribute("data-copied-ok", "true");
    }
    function fallback(text) {
      var field = document.createElement("textarea");
      field.value = text;
      field.setAttribute("readonly", "");
      field.style.position = "absolute";
      field.style.left = "-9999px";
      document.body.appendChild(field);
      field.select();
      var ok = false;
      try {
        ok = document.execCommand("copy");
      } catch (e) {
        ok = false;
      }
      document.body.removeChild(field);
      if (ok) {
        done();
      }
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = button.getAttribute("data-copy");
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(done, function () {
          fallback(text);
        });
      } else {
        fallback(text);
      }
    });
  });

  Array.prototype.forEach.call(document.querySelectorAll("form[data-once]"), function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (!button) {
        return;
      }
      // Disable after this event, so the browser still sends the form.
      window.setTimeout(function () {
        button.disabled = true;
        if (button.getAttribute("data-sending")) {
          button.textContent = button.getAttribute("data-sending");
        }
      }, 0);
    });
  });

  var inbox = document.querySelector("[data-inbox]");
  if (!inbox) {
    return;
  }
  var list = inbox.querySelector("[data-inbox-list]");
  var status = inbox.querySelector("[data-inbox-status]");
  var lang = inbox.getAttribute("data-lang") || "zh-CN";
  var timeZone = inbox.getAttribute("data-timezone") || undefined;
  // Links in messages become clickable only when they lead back to this portal (track, feedback).
  var URL_PATTERN = /(https?:\/\/[^\s，。；、）)"'<>]+)/;

  function formatTime(iso) {
    var moment = new Date(iso);
    if (isNaN(moment.getTime())) {
      return iso;
    }
    try {
      // The same form as the server's dates: 2026年5月1日 10:30 / 1 May 2026, 10:30.
      var english = lang === "en";
      return moment.toLocaleString(english ? "en-GB" : "zh-CN", {
        timeZone: timeZone, year: "numeric", month: english ? "short" : "long", day: "numeric",
        hour: "2-digit", minute: "2-digit", hour12: false
      });
    } catch (e) {
      return moment.toLocaleString();
    }
  }

  function appendBody(target, text) {
    text.split(URL_PATTERN).forEach(function (part, index) {
      var own = index % 2 === 1 && part.indexOf(window.location.origin + "/") === 0;
      if (own) {
        var link = document.createElement("a");
        link.href = part;
        link.textContent = part;
        target.appendChild(link);
      } else if (part) {
        target.appendChild(document.createTextNode(part));
      }
    });
  }

  function show(messages) {
    list.textContent = "";
    messages.forEach(function (m) {
      var item = document.createElement("li");
      item.setAttribute("data-message", m.event_type);
      var title = document.createElement("h3");
      title.textContent = m.subject;
      var when = document.createElement("time");
      when.setAttribute("datetime", m.created_at);
      when.textContent = formatTime(m.created_at);
      var body = document.createElement("p");
      body.className = "message-body";
      appendBody(body, m.body);
      item.appendChild(title);
      item.appendChild(when);
      item.appendChild(body);
      list.appendChild(item);
    });
    status.textContent = messages.length ? "" : inbox.getAttribute("data-none");
    status.hidden = messages.length > 0;
    inbox.setAttribute("data-loaded", String(messages.length));
  }

  function load() {
    fetch(inbox.getAttribute("data-inbox"), { credentials: "omit", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (answer) {
        show(answer.messages || []);
      })
      .catch(function () {
        status.hidden = false;
        status.textContent = inbox.getAttribute("data-failed");
        inbox.setAttribute("data-loaded", "failed");
      });
  }

  load();
  // New messages arrive as the request moves on; look again now and then while the page is in view.
  window.setInterval(function () {
    if (document.visibilityState === "visible") {
      load();
    }
  }, 20000);
})();
