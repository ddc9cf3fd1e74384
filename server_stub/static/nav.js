// The two sections, Queue and Modules & groups: which one shows, and what a
// section loads when it is shown (each registers that itself, so this
// module needs none of them).

import { $ } from "./dom.js";
import { state } from "./state.js";

const loaders = new Map();

/** Run *load* each time *view* is shown. */
export function whenShown(view, load) { loaders.set(view, load); }

export function showView(view) {
  state.view = view;
  $("queue-view").hidden = view !== "queue";
  $("modules-view").hidden = view !== "modules";
  for (const tab of document.querySelectorAll("#nav .tab")) {
    if (tab.dataset.view === view) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  const load = loaders.get(view);
  if (load) load();
}

export function wireNav() {
  for (const tab of document.querySelectorAll("#nav .tab")) tab.addEventListener("click", () => showView(tab.dataset.view));
}
