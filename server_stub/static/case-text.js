// What the queue and a case's detail both say about a case: the status's
// second line and the time left.

import { t } from "./i18n.js";

export function statusSub(c) {
  if (c.status !== "pending") return "";
  if (c.expert_started && !c.customer_started) return t("sub.waitingCustomer");
  if (c.customer_started && !c.expert_started) return t("sub.waitingExpert");
  return "";
}

export function timeLeft(c) {
  if (c.state !== "open") return { text: t("left.none"), soon: false };
  const seconds = Math.floor((Date.parse(c.valid_until) - Date.now()) / 1000);
  if (seconds <= 0) return { text: t("left.due"), soon: true };
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const text = d ? t("left.dh", { d, h }) : h ? t("left.hm", { h, m }) : t("left.m", { m: Math.max(1, m) });
  return { text, soon: seconds < 3600 };
}
