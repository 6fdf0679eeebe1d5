/* Bulk lookup: the rows appear as they are looked up, with progress and a Cancel button.
 *
 * Without this script the form posts and the whole result comes back as a page. With it, the
 * same POST asks for the result as JSON lines (Accept: application/x-ndjson), read as it
 * streams; Cancel aborts the request, which closes the connection, and the server stops its
 * lookups. A refused list (400) shows its message above the form, which keeps the list and the
 * chosen file. The download buttons are plain form submissions to lookup.csv / lookup.xlsx.
 */
(function () {
  "use strict";

  let controller = null;

  function byId(id) {
    return document.getElementById(id);
  }

  // A text with a count, in the page's language: data-NAME-one or data-NAME-other of `el`.
  const pluralRules = new Intl.PluralRules(document.documentElement.lang || "en");
  function plural(el, name, n) {
    const form = pluralRules.select(n) === "one" ? "one" : "other";
    return el.getAttribute("data-" + name + "-" + form);
  }

  function format(text, values) {
    return (text || "").replace(/\{(\w+)\}/g, function (match, name) {
      return name in values ? String(values[name]) : match;
    });
  }

  function announce(text) {
    const status = byId("live-status");
    if (status) status.textContent = text;
  }

  function cell(row, text, className) {
    const td = row.insertCell();
    td.textContent = text || "";
    if (className) td.className = className;
    return td;
  }

  function addRow(tbody, labels, line) {
    const row = tbody.insertRow();
    row.className = "status-" + line.status;
    cell(row, line.input);
    cell(row, String(line.line), "nowrap");
    cell(row, labels.getAttribute("data-type-" + line.input_type) || line.input_type);
    const status =
      line.status === "duplicate"
        ? format(labels.getAttribute("data-label-duplicate"), { line: line.first_line })
        : labels.getAttribute("data-label-" + line.status) || line.status;
    cell(row, status, "status");
    const contact = line.contact || {};
    const name = cell(row, "");
    if (line.contact && contact.url) {
      const link = document.createElement("a");
      link.href = contact.url;
      link.textContent = contact.full_name || contact.id;
      name.appendChild(link);
    }
    cell(row, contact.email);
    cell(row, contact.phone_number, "nowrap");
    cell(row, contact.country);
  }

  // "3 found, 1 not found, …": the statuses met, in the order of STATUSES.
  const STATUSES = ["found", "not_found", "invalid", "duplicate", "failed"];
  function tally(labels, counts) {
    return STATUSES.filter(function (status) {
      return counts[status];
    })
      .map(function (status) {
        return format(plural(labels, "count-" + status, counts[status]), { n: counts[status] });
      })
      .join(", ");
  }

  function showErrors(messages) {
    const box = byId("lookup-errors");
    if (!box) return;
    box.replaceChildren();
    messages.forEach(function (text) {
      const p = document.createElement("p");
      p.textContent = text;
      box.appendChild(p);
    });
    box.hidden = messages.length === 0;
    if (messages.length) box.scrollIntoView({ block: "nearest" });
  }

  async function showPage(response) {
    // A refused list: its messages above this form (which keeps the list and the file). Any
    // other page (an error page): shown instead of this one's main part.
    const doc = new DOMParser().parseFromString(await response.text(), "text/html");
    if (doc.getElementById("lookup-form")) {
      const texts = Array.from(doc.querySelectorAll("#lookup-errors p, .field-error")).map(
        function (p) {
          return p.textContent.trim();
        }
      );
      showErrors(texts);
      return;
    }
    const main = doc.getElementById("main");
    if (main) byId("main").replaceChildren.apply(byId("main"), Array.from(main.childNodes));
  }

  async function run(form) {
    if (controller) controller.abort();
    const mine = new AbortController();
    controller = mine;
    const labels = byId("lookup-result");
    const region = byId("lookup-table-region");
    const tbody = byId("lookup-table").tBodies[0];
    const bar = byId("lookup-bar");
    const count = byId("lookup-count");
    const cancel = byId("lookup-cancel");
    const summary = byId("lookup-summary");
    if (summary) summary.remove();
    showErrors([]);
    tbody.replaceChildren();
    region.hidden = true;
    bar.removeAttribute("value"); // indeterminate until the first line says how many
    count.textContent = "";
    cancel.hidden = false;
    byId("lookup-progress").hidden = false;
    let total = 0;
    let done = 0;
    let ended = false;
    let counts = {};

    cancel.onclick = function () {
      mine.abort();
    };
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/x-ndjson" },
        credentials: "same-origin",
        signal: mine.signal,
      });
      const type = response.headers.get("Content-Type") || "";
      if (!type.startsWith("application/x-ndjson")) {
        byId("lookup-progress").hidden = true;
        await showPage(response);
        return;
      }
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        buffer += decoder.decode(chunk.value, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n")) >= 0) {
          const line = JSON.parse(buffer.slice(0, end));
          buffer = buffer.slice(end + 1);
          if (line.type === "start") {
            total = line.values;
            bar.max = Math.max(total, 1);
            bar.value = 0;
            region.hidden = false;
          } else if (line.type === "row") {
            addRow(tbody, labels, line);
            done = line.done;
            bar.value = done;
            count.textContent = format(plural(count, "text", total), { done: done, total: total });
          } else if (line.type === "end") {
            ended = true;
            counts = line.counts || {};
          }
        }
      }
      const text = ended
        ? format(plural(count, "done-text", total), { total: total }) + " " + tally(labels, counts)
        : count.dataset.failedText;
      count.textContent = text;
      announce(text);
    } catch (error) {
      // Superseded by a newer lookup (Look up clicked again): that one owns the page now.
      if (controller !== mine) return;
      const text =
        error && error.name === "AbortError"
          ? format(plural(count, "cancelled-text", total), { done: done, total: total })
          : count.dataset.failedText;
      count.textContent = text;
      announce(text);
    } finally {
      if (controller === mine) {
        cancel.hidden = true;
        controller = null;
      }
    }
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!form || form.id !== "lookup-form") return;
    // The download buttons submit the form for real: the browser saves the file.
    if (event.submitter && event.submitter.id !== "lookup-submit") return;
    if (!window.fetch || !window.ReadableStream || !window.AbortController) return;
    event.preventDefault();
    run(form);
  });
})();
