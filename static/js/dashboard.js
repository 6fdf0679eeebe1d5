/* Contacts dashboard: small enhancements on top of pages that work without JavaScript.
 *
 * - "/" moves the focus to the first search field (unless you are typing somewhere).
 * - While htmx updates the results as you type: aria-busy on the results, the new summary
 *   announced to screen readers, field errors marked on their fields, the "Clear" link shown
 *   only when there is something to clear.
 * - A page htmx cannot show in the results region (the log-in page after a session ended, a
 *   server's own error page) is opened for real instead.
 * - The language switcher returns to the address shown now, which htmx may have changed.
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
      return element.name && element.type !== "submit" && element.value.trim() !== "";
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

  function ready() {
    const form = searchForm();
    if (form) {
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

  document.addEventListener("htmx:beforeSwap", function (event) {
    const detail = event.detail;
    const xhr = detail.xhr;
    const requested = new URL(detail.pathInfo.finalRequestPath, window.location.href);
    const answered = xhr.responseURL ? new URL(xhr.responseURL) : requested;
    const redirected = answered.pathname !== requested.pathname;
    const notOurPage =
      xhr.status > 400 && !/<main id="main"/.test(xhr.responseText || "");
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
    updateFieldStates();
    updateClearLink();
    const summary = document.getElementById("result-summary");
    const errors = Array.from(document.querySelectorAll(".field-error, .alert-error"));
    if (summary) {
      announce(summary.textContent);
    } else if (errors.length) {
      announce(errors.map(function (e) { return e.textContent; }).join(" "));
    }
    // Paging moves the reader to the top of the new page of results.
    const trigger = detail.requestConfig && detail.requestConfig.elt;
    if (trigger && trigger.closest && trigger.closest(".pager") && summary) {
      summary.focus({ preventScroll: true });
      summary.scrollIntoView({ block: "start" });
    }
  });

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
