// The little JavaScript Helpdesk needs; no inline scripts anywhere (CSP).
"use strict";

// A live refresh must not throw away a control the agent is using: an open editor or
// an open dropdown. The refresh is skipped (before it is sent, or before it is swapped
// in when the agent started editing meanwhile) and made once the agent is done.
// Only the live element's own refresh is held back: what the agent did inside it (say,
// "Mark all as read" in the open bell, which targets the bell) swaps in at once.
function isBusy(element) {
  return Boolean(element.querySelector(".editing")) || element.hasAttribute("open");
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

document.addEventListener("htmx:afterSettle", () => {
  document.querySelectorAll("[data-live][data-missed]").forEach((element) => {
    if (!element.querySelector(".editing") && !element.hasAttribute("open")) {
      const missed = element.dataset.missed;
      delete element.dataset.missed;
      htmx.trigger(document.body, missed);
    }
  });
});

// Escape cancels an in-place edit.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape" || !(event.target instanceof Element)) return;
  const editing = event.target.closest(".field.editing");
  const cancel = editing && editing.querySelector("a.cancel");
  if (cancel) {
    event.preventDefault();
    cancel.click();
  }
});
