/* Contacts dashboard: small enhancements on top of pages that work without JavaScript.
 *
 * - "/" moves the focus to the first search field (unless you are typing somewhere).
 * - While htmx updates the results as you type: aria-busy on the results, the new summary
 *   announced to screen readers, field errors marked on their fields, the "Clear" link shown
 *   only when there is something to clear.
 * - A page htmx cannot show in the results region (the log-in page after a session ended, a
 *   server's own error page) is opened for real instead.
 * - The language switcher returns to the address shown now, which htmx may have changed.
 * - What you see is what you download: while the results on screen are not those of the search
 *   in the form (typing, a search in flight), downloads and paging are held back, and say so.
 * - A download shows on the page how far it has got (rows so far), and how it ended.
 */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  function isTyping(element) {
    if (!element) return false;
    const tag = element.tagName;
    return (
      element.isContentEditable ||
      tag === "INPUT" ||
      tag === "TEXTAREA" ||
      tag === "SELECT"
    );
  }

  function searchForm() {
    return document.querySelector("form.filters");
  }

  function firstSearchField() {
    const form = searchForm();
    return form ? form.querySelector("input:not([type=hidden])") : null;
  }

  // --- keyboard shortcut ----------------------------------------------------------------------
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(event.target) || event.defaultPrevented) return;
    const field = firstSearchField();
    if (!field) return;
    event.preventDefault();
    field.focus();
    field.select();
  });

  // --- the search form ------------------------------------------------------------------------
  function hasFilters(form) {
    return Array.from(form.elements).some(function (element) {
      // The hidden chosen columns are no filter.
      return element.name && element.type !== "submit" && element.type !== "hidden" &&
        element.value.trim() !== "";
    });
  }

  function updateClearLink() {
    const form = searchForm();
    if (!form) return;
    const clear = form.querySelector(".clear-filters");
    if (clear) clear.hidden = !hasFilters(form);
  }

  // After htmx replaced the field errors: mark each field invalid or valid again.
  function updateFieldStates() {
    const form = searchForm();
    if (!form) return;
    form.querySelectorAll(".field-errors").forEach(function (errors) {
      const input = document.getElementById(errors.id.replace(/_error$/, ""));
      if (!input) return;
      if (errors.textContent.trim()) {
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-describedby", errors.id);
      } else {
        input.removeAttribute("aria-invalid");
        input.removeAttribute("aria-describedby");
      }
    });
  }

  function announce(text) {
    const status = document.getElementById("live-status");
    if (status) status.textContent = text.replace(/\s+/g, " ").trim();
  }

  function setBusy() {
    const area = document.getElementById("results-area");
    const results = document.getElementById("results");
    if (!area || !results) return;
    if (area.classList.contains("htmx-request")) {
      results.setAttribute("aria-busy", "true");
    } else {
      results.removeAttribute("aria-busy");
    }
  }

  // --- the results on screen against the search in the form -----------------------------------
  // Links that act on the results shown: downloads, and htmx links (paging, refresh, try again).
  const RESULT_ACTIONS = "#results a.download, #results a[hx-get]";

  function formSearch(form) {
    const values = {};
    Array.from(form.elements).forEach(function (element) {
      if (!element.name || element.type === "submit" || element.type === "button") return;
      const value = element.value.trim();
      if (value) values[element.name] = value;
    });
    return values;
  }

  function shownSearch() {
    const body = document.querySelector("#results .results-body");
    if (!body) return null;
    try {
      return JSON.parse(body.getAttribute("data-search") || "{}");
    } catch (error) {
      return null;
    }
  }

  function sameSearch(a, b) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every(function (key) {
      return a[key] === b[key];
    });
  }

  function resultsAreCurrent() {
    const form = searchForm();
    const area = document.getElementById("results-area");
    if (!form || !area) return true;
    if (area.classList.contains("htmx-request")) return false;
    const shown = shownSearch();
    return shown !== null && sameSearch(formSearch(form), shown);
  }

  function updateStale() {
    const current = resultsAreCurrent();
    const note = document.getElementById("stale-note");
    // A page shown before its results has nothing stale to point at.
    if (note) note.hidden = current || !document.querySelector("#results .results-body");
    document.querySelectorAll(RESULT_ACTIONS).forEach(function (link) {
      if (current) {
        link.removeAttribute("aria-disabled");
      } else {
        link.setAttribute("aria-disabled", "true");
      }
    });
    return current;
  }

  // Capturing, so that a held-back click never reaches htmx's own handler on the link.
  document.addEventListener("click", function (event) {
    const link = event.target.closest ? event.target.closest(RESULT_ACTIONS) : null;
    if (!link) return;
    if (!updateStale()) {
      event.preventDefault();
      event.stopPropagation();
      const note = document.getElementById("stale-note");
      if (note) announce(note.textContent);
      return;
    }
    if (link.classList.contains("download")) startDownload(link);
  }, true);

  // --- download progress ----------------------------------------------------------------------
  const POLL_MS = 700;
  const MAX_UNSEEN_POLLS = 30; // about 20 s without news: the export is not ours to watch
  let watching = null;

  function randomToken() {
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  function startDownload(link) {
    const status = document.getElementById("download-status");
    if (!status || !window.fetch) return;
    const token = randomToken();
    const url = new URL(link.href, window.location.href);
    url.searchParams.set("progress", token);
    // The browser follows the link after this handler: the download carries the token. As a
    // download (not a navigation), an error answer leaves the search page in place, where the
    // status below explains it. Not in a frame: Chromium sends a download's request without the
    // frame's partitioned cookies (a cross-site embed has no others), so there the link
    // navigates as without JavaScript, and the attachment still leaves the page in place.
    link.href = url.pathname + url.search;
    if (window.self === window.top) link.setAttribute("download", "");
    watchDownload(status, token, link.getAttribute("data-format") || "");
  }

  function watchDownload(status, token, format) {
    if (watching) watching.stop();
    const text = status.querySelector(".download-text");
    const numbers = new Intl.NumberFormat(document.documentElement.lang || undefined);
    const plurals = new Intl.PluralRules(document.documentElement.lang || undefined);
    let stopped = false;
    let timer = null;
    let unseen = 0;

    function say(state, rows, reason) {
      // A state with a count has a text for one and one for more (data-done-one, -other).
      const form = plurals.select(rows || 0) === "one" ? "-one" : "-other";
      const template =
        status.getAttribute("data-" + state + form) || status.getAttribute("data-" + state) || "";
      const message = template.replace("{format}", format).replace("{rows}", numbers.format(rows || 0));
      text.textContent = reason ? message + " " + reason : message;
      status.setAttribute("data-state", state);
      status.hidden = false;
      const running = state === "preparing" || state === "running";
      if (running) {
        status.setAttribute("aria-busy", "true");
      } else {
        status.removeAttribute("aria-busy");
      }
      const old = status.querySelector(".retry");
      if (old) old.remove();
      if (state === "failed" || state === "cancelled") {
        const retry = document.createElement("button");
        retry.type = "button";
        retry.className = "retry";
        retry.textContent = status.getAttribute("data-retry");
        retry.addEventListener("click", function () {
          // The same format of the search shown now (held back, as a click, if it is stale).
          const again = Array.from(document.querySelectorAll("#results a.download")).find(
            function (a) { return a.getAttribute("data-format") === format; }
          );
          if (again) again.click();
        });
        status.appendChild(retry);
      }
    }

    function stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    }

    function schedule() {
      if (!stopped) timer = setTimeout(poll, POLL_MS);
    }

    function unseenOnce() {
      unseen += 1;
      if (unseen > MAX_UNSEEN_POLLS) {
        say("unseen");
        stop();
      }
    }

    function poll() {
      const url = status.getAttribute("data-progress-url") + "?token=" + token;
      fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (stopped) return;
          const state = data && data.state;
          if (state === "running") {
            say("running", data.rows);
          } else if (state === "done" || state === "failed" || state === "cancelled") {
            say(state, data.rows, data.reason);
            stop();
            return;
          } else {
            unseenOnce();
          }
          schedule();
        })
        .catch(function () {
          if (stopped) return;
          unseenOnce();
          schedule();
        });
    }

    say("preparing");
    schedule();
    watching = { stop: stop };
  }

  function ready() {
    const form = searchForm();
    if (form) {
      form.addEventListener("input", updateStale);
      form.addEventListener("change", updateStale);
      window.addEventListener("pageshow", updateStale);
      updateStale();
      form.addEventListener("input", updateClearLink);
      // The browser may refill the fields (going back, autofill): match them.
      window.addEventListener("pageshow", updateClearLink);
      updateClearLink();
      const field = firstSearchField();
      if (field) field.setAttribute("aria-keyshortcuts", "/");
    }
    const language = document.querySelector("form.language-switcher");
    if (language) {
      language.addEventListener("submit", function () {
        const next = language.querySelector("input[name=next]");
        if (next) next.value = window.location.pathname + window.location.search;
      });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }

  // --- htmx -----------------------------------------------------------------------------------
  document.addEventListener("htmx:beforeSend", setBusy);
  document.addEventListener("htmx:afterRequest", setBusy);
  // After the indicator classes change (htmx sets them around these events).
  ["htmx:beforeSend", "htmx:afterRequest", "htmx:afterSettle"].forEach(function (name) {
    document.addEventListener(name, function () { window.setTimeout(updateStale, 0); });
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    const detail = event.detail;
    const xhr = detail.xhr;
    const requested = new URL(detail.pathInfo.finalRequestPath, window.location.href);
    const answered = xhr.responseURL ? new URL(xhr.responseURL) : requested;
    const redirected = answered.pathname !== requested.pathname;
    // A search page that failed upstream answers its results region (HX-Retarget) to keep the form.
    const notOurPage =
      xhr.status > 400 &&
      !xhr.getResponseHeader("HX-Retarget") &&
      !/<main id="main"/.test(xhr.responseText || "");
    if (redirected || notOurPage) {
      // A whole page the results region cannot hold: go there for real.
      detail.shouldSwap = false;
      window.location.assign(answered.href);
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    const detail = event.detail;
    const target = detail.target;
    if (target && target.id === "main") {
      // An error page took the place of the search: start reading there.
      const heading = target.querySelector("h1");
      if (heading) {
        heading.setAttribute("tabindex", "-1");
        heading.focus();
      }
      return;
    }
    if (!target || target.id !== "results") return;
    updateStale();
    updateFieldStates();
    updateClearLink();
    const summary = document.getElementById("result-summary");
    const errors = Array.from(document.querySelectorAll(".field-error, .alert-error"));
    // A field error while typing comes alone, the results on screen staying (views.py): say
    // what is wrong rather than the old summary.
    const refused = detail.xhr && detail.xhr.status === 400;
    if (summary && !(refused && errors.length)) {
      announce(summary.textContent);
    } else if (errors.length) {
      announce(errors.map(function (e) { return e.textContent; }).join(" "));
    }
    // Paging moves the reader to the new page of results, with the form, the summary and its
    // buttons and the first rows in view (the top of the search, not the summary alone, which
    // would cut off the buttons beside it).
    const trigger = detail.requestConfig && detail.requestConfig.elt;
    if (trigger && trigger.closest && trigger.closest(".pager") && summary) {
      summary.focus({ preventScroll: true });
      const search = summary.closest(".search") || summary;
      search.scrollIntoView({ block: "start" });
    }
    // A page Contactship failed to give: start reading at the error, which has the ways on
    // (not while typing in the form, which keeps the focus).
    const failed = target.querySelector(".upstream-alert");
    if (failed && !(trigger && trigger.closest && trigger.closest("form"))) {
      failed.setAttribute("tabindex", "-1");
      failed.focus({ preventScroll: true });
    }
  });

  // --- the contact page, and times -----------------------------------------------------------
  // Copy buttons (they need the script, so they are hidden without it).
  function setUpCopyButtons() {
    document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
      if (!navigator.clipboard) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(button.getAttribute("data-copy")).then(function () {
          announce(button.getAttribute("data-copied"));
        });
      });
    });
  }
  // Times in the viewer's own time zone, named (the server writes them in UTC, saying so): a
  // contact's creation, when a summary was computed.
  function showLocalTimes() {
    const lang = document.documentElement.lang || undefined;
    document.querySelectorAll("time.local-time[datetime]").forEach(function (time) {
      const when = new Date(time.getAttribute("datetime"));
      if (isNaN(when.getTime())) return;
      time.textContent = new Intl.DateTimeFormat(lang, {
        year: "numeric", month: "long", day: "numeric",
        hour: "numeric", minute: "2-digit", timeZoneName: "short",
      }).format(when);
      time.title = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    });
  }
  function setUpPage() {
    setUpCopyButtons();
    showLocalTimes();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpPage);
  } else {
    setUpPage();
  }

  // The dashboard could not be reached at all: let the browser show and explain that.
  ["htmx:sendError", "htmx:timeout"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      const detail = event.detail;
      if (detail && detail.pathInfo) {
        window.location.assign(
          new URL(detail.pathInfo.finalRequestPath, window.location.href).href
        );
      }
    });
  });
})();
