// The little JavaScript Helpdesk needs; no inline scripts anywhere (CSP).
"use strict";

// A live refresh must not throw away a control the agent is using: an open editor or
// an open dropdown. The refresh is skipped (before it is sent, or before it is swapped
// in when the agent started editing meanwhile) and made once the agent is done.
// Only the live element's own refresh is held back: what the agent did inside it (say,
// "Mark all as read" in the open bell, which targets the bell) swaps in at once.
// Tickets selected for a bulk action count as a control in use too.
function isBusy(element) {
  return Boolean(element.querySelector(".editing, input[data-bulk]:checked")) || element.hasAttribute("open");
}

function liveRefresh(event) {
  const element = event.detail.elt;
  const config = event.detail.requestConfig;
  const trigger = config && config.triggeringEvent;
  if (!element.hasAttribute("data-live") || !trigger || trigger.type === "toggle") return null;
  if (config.elt !== element) return null;
  return isBusy(element) ? { element, type: trigger.type } : null;
}

document.addEventListener("htmx:beforeRequest", (event) => {
  const busy = liveRefresh(event);
  if (busy) {
    event.preventDefault();
    busy.element.dataset.missed = busy.type;
  }
});

document.addEventListener("htmx:beforeSwap", (event) => {
  const busy = liveRefresh(event);
  if (busy) {
    event.detail.shouldSwap = false;
    busy.element.dataset.missed = busy.type;
  }
});

document.addEventListener("toggle", (event) => {
  const element = event.target;
  if (!element.open && element.dataset && element.dataset.missed) {
    const missed = element.dataset.missed;
    delete element.dataset.missed;
    htmx.trigger(document.body, missed);
  }
}, true);

function catchUp() {
  document.querySelectorAll("[data-live][data-missed]").forEach((element) => {
    if (!isBusy(element)) {
      const missed = element.dataset.missed;
      delete element.dataset.missed;
      htmx.trigger(document.body, missed);
    }
  });
}

document.addEventListener("htmx:afterSettle", catchUp);

// Escape cancels an in-place edit, and leaves the reply box (so keys are shortcuts again).
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape" || !(event.target instanceof Element)) return;
  const editing = event.target.closest(".field.editing");
  const cancel = editing && editing.querySelector("a.cancel");
  if (cancel) {
    event.preventDefault();
    cancel.click();
  } else if (event.target.id === "reply-body") {
    event.target.blur();
  }
});

// Keyboard triage. One key, no modifier, never while typing: j/k move, Enter/o open,
// e edit, r reply, n note, a assign to me, / search, ? the list of keys.
function isTyping(target) {
  return target instanceof Element &&
    Boolean(target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']"));
}

function queueRows() {
  return Array.from(document.querySelectorAll("#queue tbody tr[data-ticket]"));
}

function fieldLinks() {
  return Array.from(document.querySelectorAll(".fields [data-field] a.value"));
}

function currentRow() {
  return document.querySelector("#queue tr.kbd-focus");
}

function focusRow(row) {
  queueRows().forEach((other) => other.classList.toggle("kbd-focus", other === row));
  const link = row.querySelector("td.ref a");
  if (link) link.focus();
  row.scrollIntoView({ block: "nearest" });
}

function step(items, current, by) {
  if (!items.length) return null;
  const index = items.indexOf(current);
  if (index === -1) return by > 0 ? items[0] : items[items.length - 1];
  return items[Math.min(items.length - 1, Math.max(0, index + by))];
}

function move(by) {
  const rows = queueRows();
  if (rows.length) {
    const row = step(rows, currentRow(), by);
    if (row) focusRow(row);
    return true;
  }
  const links = fieldLinks();
  const link = step(links, document.activeElement, by);
  if (link) link.focus();
  return Boolean(link);
}

function openFocused() {
  const row = currentRow();
  const link = row && row.querySelector("td.ref a");
  if (link) link.click();
  return Boolean(link);
}

function editField() {
  const focused = document.activeElement instanceof Element && document.activeElement.closest("[data-field]");
  const link = (focused && focused.querySelector("a.value")) || fieldLinks()[0];
  if (link) link.click();
  return Boolean(link);
}

function writeMessage(kind) {
  const box = document.getElementById("reply-body");
  if (!box) return false;
  box.form.dataset.kind = kind;
  box.form.classList.toggle("note-mode", kind === "note");
  box.focus();
  return true;
}

function toggleSelected() {
  const box = currentRow() && currentRow().querySelector("input[data-bulk]");
  if (box) box.click();
  return Boolean(box);
}

function clickShortcut(name) {
  const control = document.querySelector(`[data-shortcut="${name}"]`);
  if (control) control.click();
  return Boolean(control);
}

function focusSearch() {
  const box = document.querySelector("input[type=search]");
  if (box) {
    box.focus();
    box.select();
    return true;
  }
  return clickShortcut("search");
}

function toggleShortcuts() {
  const dialog = document.getElementById("shortcuts");
  if (!dialog) return false;
  if (dialog.open) dialog.close();
  else dialog.showModal();
  return true;
}

const SHORTCUTS = {
  j: () => move(1),
  k: () => move(-1),
  o: openFocused,
  Enter: openFocused,
  e: editField,
  r: () => writeMessage("reply"),
  n: () => writeMessage("note"),
  a: () => clickShortcut("assign-me"),
  x: toggleSelected,
  "/": focusSearch,
  "?": toggleShortcuts,
};

document.addEventListener("keydown", (event) => {
  if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
  if (isTyping(event.target)) return;
  const dialog = document.getElementById("shortcuts");
  if (dialog && dialog.open && event.key !== "?") return;
  // Enter on a link or a button already does what it says.
  if (event.key === "Enter" && event.target instanceof Element && event.target.closest("a, button, summary")) return;
  const action = SHORTCUTS[event.key];
  if (action && action()) event.preventDefault();
});

// Enter in a field's select saves it, as it would in a text input.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || !(event.target instanceof HTMLSelectElement)) return;
  const form = event.target.closest(".field.editing form");
  if (form) {
    event.preventDefault();
    form.requestSubmit();
  }
});

// Ctrl+Enter (or Cmd+Enter) in the reply box sends it as what r or n chose.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
  const box = event.target instanceof Element && event.target.closest("#reply-body");
  if (!box) return;
  const button = box.form.querySelector(`button[value="${box.form.dataset.kind || "reply"}"]`);
  if (button) {
    event.preventDefault();
    button.click();
  }
});

// Focus stays where the agent expects after a swap: on the same queue row or field,
// not thrown back to the top of the page. A saved field gives focus to its new value.
// What a swap must restore is kept per request: another swap may settle in between.
const beforeSwap = new WeakMap();

function focusKey(element) {
  if (!(element instanceof Element)) return null;
  const row = element.closest("tr[data-ticket]");
  if (row) return { row: row.dataset.ticket };
  const field = element.closest("[data-field]");
  if (field) return { field: field.dataset.field };
  return null;
}

document.addEventListener("htmx:beforeSwap", (event) => {
  const row = currentRow();
  const trigger = event.detail.requestConfig && event.detail.requestConfig.triggeringEvent;
  const liveQueue = event.detail.target && event.detail.target.id === "queue" &&
    trigger && trigger.type === "queue-changed";
  beforeSwap.set(event.detail.xhr, {
    focus: focusKey(document.activeElement) || (row ? { row: row.dataset.ticket, quiet: true } : null),
    rows: liveQueue ? new Set(queueRows().map((other) => other.dataset.ticket)) : null,
  });
});

function restoreFocus(key) {
  const lost = !document.activeElement || document.activeElement === document.body;
  if (key.row) {
    const row = document.querySelector(`#queue tr[data-ticket="${CSS.escape(key.row)}"]`);
    if (!row) return;
    row.classList.add("kbd-focus");
    if (lost && !key.quiet) focusRow(row);
  } else if (key.field && lost) {
    const field = document.querySelector(`[data-field="${CSS.escape(key.field)}"]`);
    const target = field && (field.querySelector("select, input:not([type=hidden])") || field.querySelector("a.value"));
    if (target) target.focus();
  }
}

// New tickets arriving in the queue are announced to screen readers, politely.
function announceArrivals(before) {
  const announcer = document.getElementById("announcer");
  const arrived = queueRows().filter((row) => !before.has(row.dataset.ticket));
  if (!announcer || !arrived.length) return;
  const subject = (row) => (row.querySelector("td.subject a") || row).textContent.trim();
  announcer.textContent = arrived.length === 1
    ? `New ticket ${arrived[0].dataset.ticket}: ${subject(arrived[0])}`
    : `${arrived.length} new tickets`;
}

document.addEventListener("htmx:afterSettle", (event) => {
  const saved = beforeSwap.get(event.detail.xhr);
  if (!saved) return;
  beforeSwap.delete(event.detail.xhr);
  if (saved.focus) restoreFocus(saved.focus);
  if (saved.rows) announceArrivals(saved.rows);
});

// Canned replies: the picker on the reply box, opened from its summary or by typing "/"
// at the start of an empty box; a chosen reply is inserted where the cursor is.
function openPicker() {
  const picker = document.getElementById("canned-picker");
  if (!picker) return false;
  picker.open = true;
  picker.querySelector("input[type=search]").focus();
  return true;
}

function insertReply(text) {
  const box = document.getElementById("reply-body");
  if (!box) return;
  const start = box.selectionStart, end = box.selectionEnd;
  box.value = box.value.slice(0, start) + text + box.value.slice(end);
  box.selectionStart = box.selectionEnd = start + text.length;
  document.getElementById("canned-picker").open = false;
  box.focus();
  box.dispatchEvent(new Event("input", { bubbles: true }));  // the preview follows
}

document.addEventListener("keydown", (event) => {
  const box = event.target;
  if (event.key !== "/" || !(box instanceof HTMLTextAreaElement) || box.id !== "reply-body") return;
  if (box.value.trim() === "" && openPicker()) event.preventDefault();
});

document.addEventListener("click", (event) => {
  const choice = event.target instanceof Element && event.target.closest("#canned-picker [data-insert]");
  if (choice) insertReply(choice.dataset.insert);
});

document.addEventListener("keydown", (event) => {
  const picker = event.target instanceof Element && event.target.closest("#canned-picker");
  if (!picker) return;
  const choices = Array.from(picker.querySelectorAll("[data-insert]"));
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    const next = step(choices, document.activeElement, event.key === "ArrowDown" ? 1 : -1);
    if (next) {
      next.focus();
      event.preventDefault();
    }
  } else if (event.key === "Escape") {
    picker.open = false;
    document.getElementById("reply-body").focus();
    event.preventDefault();
  }
});

// Bulk selection: "all on this page", the count on the bar, and a held live refresh
// made once nothing is selected any more.
document.addEventListener("change", (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement)) return;
  const queue = box.closest("#queue");
  if (!queue || !(box.hasAttribute("data-bulk") || box.hasAttribute("data-bulk-all"))) return;
  const boxes = Array.from(queue.querySelectorAll("input[data-bulk]"));
  if (box.hasAttribute("data-bulk-all")) boxes.forEach((other) => { other.checked = box.checked; });
  const chosen = boxes.filter((other) => other.checked).length;
  const all = queue.querySelector("input[data-bulk-all]");
  if (all) all.checked = chosen === boxes.length;
  const count = document.querySelector("#bulk [data-bulk-count]");
  if (count) count.textContent = chosen ? `${chosen} selected` : "Select tickets to change several at once";
  const bar = document.getElementById("bulk");
  if (bar) bar.classList.toggle("selecting", chosen > 0);
  if (!chosen) catchUp();
});

// A button with data-copy="<selector>" copies that element's text (an API key's secret, a tag id).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  const text = source.textContent.trim();
  const done = () => { button.textContent = "Copied"; };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => selectText(source));
  } else {
    selectText(source);
  }
});

function selectText(element) {
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}
