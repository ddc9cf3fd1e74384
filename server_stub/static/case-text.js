// What the queue and a case's detail both say about a case: the status's
// second line, how long the customer has been waiting, the time left, the
// customer's name, the agent's presence.

import { formatTime, t } from "./i18n.js";

export function statusSub(c) {
  if (c.status !== "pending") return "";
  if (c.expert_started && !c.customer_started) return t("sub.waitingCustomer");
  if (c.customer_started && !c.expert_started) return t("sub.waitingExpert");
  return "";
}

/** A duration in the largest units that matter: "7 min", "2 h 5 min", "3 d 4 h". */
export function duration(seconds) {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d) return t("left.dh", { d, h });
  if (h) return t("left.hm", { h, m });
  return m ? t("left.m", { m }) : t("age.lessThanMinute");
}

/** Whether the customer is waiting for an expert: they asked (SOS) or started, and nobody connected. */
export function customerWaiting(c) {
  return c.state === "open" && !c.expert_started && (c.created_by === "customer" || c.customer_started);
}

/** How long ago the case was made, live: "waiting 7 min" while the customer waits, else "7 min ago". */
export function age(c, now = Date.now()) {
  const seconds = Math.max(0, Math.floor((now - Date.parse(c.created_at)) / 1000));
  const text = customerWaiting(c) ? t("age.waiting", { d: duration(seconds) }) : t("age.ago", { d: duration(seconds) });
  return { text, title: formatTime(c.created_at), waiting: customerWaiting(c), long: seconds >= 900 };
}

export function timeLeft(c) {
  if (c.state !== "open") return { text: t("left.none"), soon: false };
  const seconds = Math.floor((Date.parse(c.valid_until) - Date.now()) / 1000);
  if (seconds <= 0) return { text: t("left.due"), soon: true };
  return { text: duration(Math.max(60, seconds)), soon: seconds < 3600 };
}

/** Who the customer is: the name given, else the device's user (an SOS states no name). */
export function customerName(c) {
  return (c.end_customer && c.end_customer.name) || (c.device && c.device.user) || "";
}

/**
 * The customer's agent: "online" (there now), "left" (it had joined and is gone) or ""
 * (no agent ever joined: an expert-made case whose code nobody entered yet).
 */
export function presence(c) {
  if (c.state !== "open") return "";
  if (c.online) return "online";
  return c.device ? "left" : "";
}
