// New SOS: the badge (until clicked), the rows marked fresh, a browser
// notification once the expert allowed them, and the sound if switched on.

import { api, query } from "./api.js";
import { $ } from "./dom.js";
import { t } from "./i18n.js";
import { showView } from "./nav.js";
import { markFreshRows, showFiltered } from "./queue.js";
import { sosArrived } from "./sound.js";
import { state } from "./state.js";

export async function checkNewSos() {
  const data = await api("GET", "/sessions" + query({ state: "open", limit: 100 }));
  const first = state.known === null;
  if (first) state.known = new Set();
  const arrived = [];
  for (const c of data.sessions) {
    if (!state.known.has(c.code)) {
      state.known.add(c.code);
      if (!first && c.created_by === "customer") arrived.push(c);
    }
  }
  if (!arrived.length) return;
  for (const c of arrived) if (!state.newSos.includes(c.code)) state.newSos.push(c.code);
  updateBadge();
  markFreshRows();
  notify(arrived);
  sosArrived();
}

function notify(cases) {
  if (!("Notification" in window) || Notification.permission !== "granted") return;
  for (const c of cases.slice(0, 3)) {
    const who = (c.end_customer && c.end_customer.name) || (c.device && (c.device.user || c.device.hostname)) || "?";
    try {
      new Notification(t("notification.title", { code: c.code }),
        { body: t("notification.body", { who, what: c.description || "" }), tag: c.code });
    } catch { /* some browsers allow notifications only from a service worker */ }
  }
}

export function updateBadge() {
  const badge = $("sos-badge");
  const n = state.newSos.length;
  badge.hidden = n === 0 || !state.me;
  badge.textContent = n === 1 ? t("badge.newSos1") : t("badge.newSos", { n });
  document.title = (n ? `(${n}) ` : "") + t("app.title");
}

function dismissBadge() {
  state.newSos = [];
  updateBadge();
  markFreshRows();
}

export function updateNotifyButton() {
  const button = $("notify-btn");
  if (!("Notification" in window) || !state.me) { button.hidden = true; return; }
  const permission = Notification.permission;
  button.hidden = permission === "granted";
  button.disabled = permission === "denied";
  button.textContent = permission === "denied" ? t("notify.denied") : t("notify.enable");
}

async function askNotifications() {
  try { await Notification.requestPermission(); } catch { /* old browsers */ }
  updateNotifyButton();
}

export function wireSosAlerts() {
  $("sos-badge").addEventListener("click", () => {
    showView("queue");
    state.sort = { key: "created", order: "desc" }; // the newest first: the ones just arrived
    showFiltered({ status: "open" });
    dismissBadge();
    $("queue-heading").scrollIntoView();
  });
  $("notify-btn").addEventListener("click", askNotifications);
  // Someone coming back to the tab sees the new SOS: the badge stays until clicked.
}
