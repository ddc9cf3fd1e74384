// A case's detail, its chat (pre-chat before Connect works here) and its
// history, in a dialog; Edit or assign opens the edit dialog (edit.js).

import { api } from "./api.js";
import { statusSub } from "./case-text.js";
import { ChatPanel } from "./chat.js";
import { $, el, showError } from "./dom.js";
import { formatTime, t } from "./i18n.js";
import { openEdit } from "./edit.js";
import { whenCasesChange } from "./refresh.js";
import { state } from "./state.js";

let chat = null;
let shown = null; // the case the dialog shows

/** The name of module *id* (asked once, then kept); the id itself if it cannot be had. */
async function moduleName(id) {
  if (!state.modules.has(id)) {
    try {
      state.modules.set(id, (await api("GET", `/modules/${encodeURIComponent(id)}`)).name);
    } catch {
      return id;
    }
  }
  return state.modules.get(id);
}

function who(event) {
  if (event.actor === "customer") return t("who.customer");
  if (event.actor === "system") return t("who.system");
  return t("who.expert", { name: event.actor_name || event.actor });
}

/** What happened, in words: the event, and for a session's end who ended it, for a chat its text. */
function what(event) {
  const detail = event.detail || {};
  if (event.event === "chat") return t("event.chat", { text: detail.text || "" });
  if (event.event === "edit" && event.actor === "customer") return t("event.edit.customer");
  if (event.event === "session_stopped" && detail.by) return t("event.session_stopped." + detail.by);
  return t("event." + event.event);
}

export async function loadDetail(code) {
  const [c, history, talk] = await Promise.all([
    api("GET", `/sessions/${encodeURIComponent(code)}`),
    api("GET", `/sessions/${encodeURIComponent(code)}/history`),
    api("GET", `/sessions/${encodeURIComponent(code)}/chat`),
  ]);
  const module = c.custom_module_id ? await moduleName(c.custom_module_id) : null;
  if (state.detailCode !== code) return;
  shown = c;
  $("detail-edit").hidden = c.state !== "open";
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
    ...row(t("col.group"), c.groupname),
    ...row(t("col.assigned"), c.assigned_name || t("none")),
    ...row(t("detail.createdBy"), createdBy),
    ...row(t("detail.created"), formatTime(c.created_at)),
    ...row(t("detail.validUntil"), formatTime(c.valid_until)),
    ...(c.closed_at ? row(t("detail.closedAt"), formatTime(c.closed_at)) : []),
    ...(c.custom_module_id ? row(t("detail.module"), el("span", { title: c.custom_module_id }, module)) : []),
  );
  chat.set(talk.messages);
  // "u0" is nobody (TeamViewer's form).
  const mayChat = c.state === "open" && (c.assigned_userid === "u0" || (state.me && c.assigned_userid === state.me.id));
  $("detail-chat-form").hidden = !mayChat;
  $("history-body").replaceChildren(...history.events.map((ev) => el("tr", {},
    el("td", {}, formatTime(ev.at)),
    el("td", {}, who(ev)),
    el("td", { class: ev.event === "chat" ? "pre" : null }, what(ev)),
    el("td", {}, ev.from && ev.from !== ev.to ? `${t("status." + ev.from)} → ${t("status." + ev.to)}` : t("status." + ev.to)),
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
  chat = new ChatPanel({
    list: $("detail-chat-list"), form: $("detail-chat-form"), input: $("detail-chat-input"),
    error: $("detail-chat-error"),
    send: (text) => api("POST", `/sessions/${encodeURIComponent(state.detailCode)}/chat`, { text }),
  });
  $("detail-close").addEventListener("click", () => $("detail-dialog").close());
  $("detail-edit").addEventListener("click", () => { if (shown) openEdit(shown); });
  $("detail-dialog").addEventListener("close", () => { state.detailCode = null; shown = null; });
  whenCasesChange(() => {
    if (state.detailCode && $("detail-dialog").open) loadDetail(state.detailCode).catch(showError);
  });
}
