// The sections, Queue and Modules & groups (tabs) and a case's session: which
// one shows, what a section loads when it is shown and does when it is left
// (each registers that itself, so this module needs none of them); and the
// console opened at a case (a session's supporter_link, /case/<code>).

import { $ } from "./dom.js";
import { state } from "./state.js";

const loaders = new Map();
const leavers = new Map();

/** Run *load* each time *view* is shown. */
export function whenShown(view, load) { loaders.set(view, load); }

/** Run *leave* each time another view replaces *view*. */
export function onLeave(view, leave) { leavers.set(view, leave); }

export function showView(view) {
  const before = state.view;
  state.view = view;
  if (before !== view && leavers.has(before)) leavers.get(before)();
  $("queue-view").hidden = view !== "queue";
  $("modules-view").hidden = view !== "modules";
  $("session-view").hidden = view !== "session";
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

const CASE_PATH = /^\/case\/([^/]+)$/;
const afterLoginHooks = [];

/**
 * The case the console was opened at (a supporter_link: /case/s12-345-678), or
 * null. Asked once: the address becomes the console's own, so a reload shows the queue.
 */
export function takeLinkedCase() {
  const found = CASE_PATH.exec(location.pathname);
  if (!found) return null;
  history.replaceState(null, "", "/");
  try { return decodeURIComponent(found[1]); } catch { return null; }
}

/** Run *hook* each time an expert has logged in (also with a login that was still valid). */
export function afterLogin(hook) { afterLoginHooks.push(hook); }

export function loggedInNow() { for (const hook of afterLoginHooks) hook(); }
