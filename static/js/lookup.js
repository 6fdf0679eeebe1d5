/* Bulk lookup: the rows appear as they are looked up, with progress and a Cancel button.
 *
 * Without this script the form posts and the whole result comes back as a page. With it, the
 * same POST asks for the result as JSON lines (Accept: application/x-ndjson), read as it
 * streams; Cancel aborts the request, which closes the connection, and the server stops its
 * lookups. A refused list (400) shows its message above the form, which keeps the list and the
 * chosen file. The download buttons are plain form submissions to lookup.csv / lookup.xlsx.
 * A lookup that stopped asking (Contactship failing, hanging or rate-limiting) shows why, in the
 * search page's words, and "Retry the failed ones", streamed the same way.
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

  // Each cell carries its column's name (data-label), shown beside it on a phone's card.
  function cell(row, text, className) {
    const td = row.insertCell();
    td.textContent = text || "";
    td.className = className;
    const th = byId("lookup-table").tHead.rows[0].cells[td.cellIndex];
    if (th) td.setAttribute("data-label", th.textContent.trim());
    return td;
  }

  function addRow(tbody, labels, line) {
    const row = tbody.insertRow();
    row.className = "status-" + line.status + (line.result === "failed" ? " result-failed" : "");
    cell(row, String(line.line), "line");
    cell(row, line.input, "value");
    cell(row, labels.getAttribute("data-type-" + line.input_type) || line.input_type, "kind");
    cell(row, labels.getAttribute("data-label-" + line.status) || line.status, "status");
    cell(row, line.reason, "reason");
    const contact = line.contact || {};
    const name = cell(row, "", "name");
    if (line.contact && contact.url) {
      const link = document.createElement("a");
      link.href = contact.url;
      link.textContent = contact.full_name || contact.id;
      name.appendChild(link);
    } else if (line.contact) {
      name.textContent = contact.full_name || contact.id || "";
    }
    cell(row, contact.email, "email");
    const phone = cell(row, "", "phone");
    if (contact.phone_number) {
      const link = document.createElement("a");
      link.href = "tel:" + contact.phone_number;
      link.textContent = contact.phone_shown || contact.phone_number;
      phone.appendChild(link);
    }
    cell(row, contact.country, "country");
  }

  // A lookup that stopped asking: the search page's words for why, and Retry the failed ones.
  function showStop(end) {
    const stopped = end.stopped;
    byId("lookup-stopped").hidden = !stopped;
    if (stopped) {
      byId("lookup-stopped-title").textContent = stopped.title;
      byId("lookup-stopped-message").textContent = stopped.message;
    }
    byId("lookup-retry-key").value = end.retry || "";
    byId("lookup-retry-form").hidden = !end.retry;
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
    const body = new FormData(form); // before the page is reset: the retry form's key with it
    const labels = byId("lookup-result");
    const region = byId("lookup-table-region");
    const tbody = byId("lookup-table").tBodies[0];
    const bar = byId("lookup-bar");
    const count = byId("lookup-count");
    const cancel = byId("lookup-cancel");
    const summary = byId("lookup-summary");
    if (summary) summary.remove();
    showStop({});
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
    let finish = {};

    cancel.onclick = function () {
      mine.abort();
    };
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: body,
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
            finish = line;
            counts = line.counts || {};
          }
        }
      }
      let text = count.dataset.failedText;
      if (ended && finish.stopped) {
        text = finish.stopped.summary + ". " + tally(labels, counts);
      } else if (ended) {
        text = format(plural(count, "done-text", total), { total: total }) + " " + tally(labels, counts);
      }
      if (ended) showStop(finish);
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
    if (!form || (form.id !== "lookup-form" && form.id !== "lookup-retry-form")) return;
    // The download buttons submit the form for real: the browser saves the file.
    if (form.id === "lookup-form" && event.submitter && event.submitter.id !== "lookup-submit") {
      return;
    }
    if (!window.fetch || !window.ReadableStream || !window.AbortController) return;
    event.preventDefault();
    run(form);
  });
})();
