// The little JavaScript Helpdesk needs; no inline scripts anywhere (CSP).
"use strict";

// A live refresh must not throw away a control the agent is using: an open editor or
// an open dropdown. The refresh is remembered and made once the agent is done.
document.addEventListener("htmx:beforeRequest", (event) => {
  const element = event.detail.elt;
  if (!element.hasAttribute("data-live")) return;
  const busy = element.querySelector(".editing") || element.hasAttribute("open");
  const trigger = event.detail.requestConfig && event.detail.requestConfig.triggeringEvent;
  if (busy && trigger && trigger.type !== "toggle") {
    event.preventDefault();
    element.dataset.missed = trigger.type;
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
