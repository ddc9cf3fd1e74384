// A case's detail and history, in a dialog.

import { api } from "./api.js";
import { statusSub } from "./case-text.js";
import { $, el, showError } from "./dom.js";
import { formatTime, t } from "./i18n.js";
import { state } from "./state.js";

function who(event) {
  if (event.actor === "customer") return t("who.customer");
  if (event.actor === "system") return t("who.system");
  return t("who.expert", { name: event.actor_name || event.actor });
}

export async function loadDetail(code) {
  const [c, history] = await Promise.all([
    api("GET", `/sessions/${encodeURIComponent(code)}`),
    api("GET", `/sessions/${encodeURIComponent(code)}/history`),
  ]);
  if (state.detailCode !== code) return;
  $("detail-heading").textContent = t("detail.heading", { code: c.code });
  const row = (label, ...value) => [el("dt", {}, label), el("dd", {}, ...value)];
  const createdBy = c.created_by === "customer" ? t("who.customer")
    : t("who.expert", { name: (state.experts.find((x) => "expert:" + x.id.slice(1) === c.created_by) || {}).name || c.created_by });
  $("detail-fields").replaceChildren(
    ...row(t("col.status"), el("span", { class: "status status-" + c.status }, t("status." + c.status)),
      statusSub(c) ? el("span", { class: "sub" }, " " + statusSub(c)) : null),
    ...row(t("col.customer"), (c.end_customer && c.end_customer.name) || t("none")),
    ...row(t("detail.email"), (c.end_customer && c.end_customer.email) || t("none")),
    ...row(t("col.problem"), el("span", { class: "pre" }, c.description || t("none"))),
    ...row(t("col.device"), c.device ? [c.device.hostname, c.device.os, c.device.user].filter(Boolean).join(" · ") : t("none")),
    ...row(t("col.group"), c.groupid),
    ...row(t("col.assigned"), c.assigned_name || t("none")),
    ...row(t("detail.createdBy"), createdBy),
    ...row(t("col.created"), formatTime(c.created_at)),
    ...row(t("detail.validUntil"), formatTime(c.valid_until)),
    ...(c.closed_at ? row(t("detail.closedAt"), formatTime(c.closed_at)) : []),
    ...(c.custom_module_id ? row(t("detail.module"), c.custom_module_id) : []),
  );
  $("history-body").replaceChildren(...history.events.map((ev) => el("tr", {},
    el("td", {}, formatTime(ev.at)),
    el("td", {}, who(ev)),
    el("td", {}, t("event." + ev.event)),
    el("td", {}, ev.from ? `${t("status." + ev.from)} → ${t("status." + ev.to)}` : t("status." + ev.to)),
  )));
}

export async function openDetail(code) {
  state.detailCode = code;
  try {
    await loadDetail(code);
  } catch (error) {
    showError(error);
    return;
  }
  const dialog = $("detail-dialog");
  if (!dialog.open) dialog.showModal();
  $("detail-close").focus();
}

export function wireDetail() {
  $("detail-close").addEventListener("click", () => $("detail-dialog").close());
  $("detail-dialog").addEventListener("close", () => { state.detailCode = null; });
}
