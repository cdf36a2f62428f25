/* The staff console's only script. A region with data-poll-url asks the server every few seconds whether
   it changed (a conditional GET: If-None-Match, 304 while nothing did) and swaps in the new list when it
   did. Nothing is kept on the server between requests, so any routing replica can answer. The list is
   not swapped while the keyboard focus is inside it (someone is filling in a form); it is when the
   focus leaves. Everything else on the pages works without this script. */
(function () {
  "use strict";

  function announce(text) {
    var live = document.getElementById("live");
    if (!live || !text) { return; }
    live.textContent = "";
    window.setTimeout(function () { live.textContent = text; }, 50);
  }

  function ids(region) {
    var seen = {};
    region.querySelectorAll("[data-id]").forEach(function (el) { seen[el.getAttribute("data-id")] = true; });
    return seen;
  }

  function watch(region) {
    var url = region.getAttribute("data-poll-url");
    var etag = region.getAttribute("data-etag") || "";
    var seconds = Math.max(2, parseInt(region.getAttribute("data-poll-seconds"), 10) || 5);
    var pending = null;
    var busy = false;
    var stopped = false;

    function busyHere() {
      return region.contains(document.activeElement) && document.activeElement !== region;
    }

    function apply(html) {
      var before = ids(region);
      var ticked = {};  /* tasks ticked for a bulk action stay ticked across a swap */
      region.querySelectorAll("input[name=ids]:checked").forEach(function (el) { ticked[el.value] = true; });
      region.innerHTML = html;
      region.querySelectorAll("input[name=ids]").forEach(function (el) { if (ticked[el.value]) { el.checked = true; } });
      var fresh = 0;
      region.querySelectorAll("[data-id]").forEach(function (el) {
        if (!before[el.getAttribute("data-id")]) { el.classList.add("is-new"); fresh += 1; }
      });
      region.setAttribute("data-etag", etag);
      if (fresh > 0) {  /* a quiet swap otherwise (a colleague took a task, the minute turned) */
        announce((region.getAttribute("data-updated") || "").replace("{n}", String(fresh)));
      }
    }

    function tick() {
      if (busy || stopped || document.hidden) { return; }
      busy = true;
      fetch(url, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { "If-None-Match": etag, "Accept": "text/html" }
      }).then(function (response) {
        if (response.status === 401) {
          stopped = true;
          announce(region.getAttribute("data-signed-out"));
          return null;
        }
        if (response.status !== 200) { return null; }
        etag = response.headers.get("ETag") || "";
        return response.text().then(function (html) {
          if (busyHere()) { pending = html; } else { pending = null; apply(html); }
        });
      }).catch(function () {
        /* offline for a moment: the next tick tries again */
      }).then(function () { busy = false; });
    }

    region.addEventListener("focusout", function (event) {
      if (pending !== null && !region.contains(event.relatedTarget)) {
        var html = pending;
        pending = null;
        apply(html);
      }
    });
    document.addEventListener("visibilitychange", function () { if (!document.hidden) { tick(); } });
    window.setInterval(tick, seconds * 1000);
  }

  document.querySelectorAll("[data-poll-url]").forEach(watch);

  /* A canned reply picked on the reply form fills the reply; the text stays editable. */
  document.querySelectorAll("select[data-fill]").forEach(function (select) {
    select.addEventListener("change", function () {
      var target = document.getElementById(select.getAttribute("data-fill"));
      var option = select.options[select.selectedIndex];
      if (target && option && option.getAttribute("data-text")) {
        target.value = option.getAttribute("data-text");
        target.focus();
      }
    });
  });

  /* The bulk form shows only the fields of the chosen action (all of them without this script). */
  document.querySelectorAll("select[data-bulk-action]").forEach(function (select) {
    function show() {
      select.form.querySelectorAll(".bulk-params").forEach(function (group) {
        group.hidden = group.getAttribute("data-for") !== select.value;
      });
    }
    select.addEventListener("change", show);
    show();
  });
}());
