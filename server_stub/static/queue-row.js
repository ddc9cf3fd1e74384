// One row of the queue: its cells, each one line (long text ends in "…" and
// shows whole on hover), so that a screen holds many cases; and the parts of a
// row that change with the clock.

import { age, customerName, presence, statusSub, timeLeft } from "./case-text.js";
import { closeCase, connect } from "./case-actions.js";
import { openDetail } from "./detail.js";
import { el } from "./dom.js";
import { formatTime, t } from "./i18n.js";
import { openSession } from "./remote.js";
import { state } from "./state.js";

function cell(label, cls, ...children) {
  return el("td", { "data-label": label, class: cls }, el("div", { class: "cv" }, ...children));
}

function customerCell(c) {
  const name = c.end_customer && c.end_customer.name;
  const email = c.end_customer && c.end_customer.email;
  // An SOS has no stated name: the device's user name stands in, shown quieter.
  const shown = customerName(c);
  return el("span", { class: "line", title: [shown, email].filter(Boolean).join(" · ") || null },
    el("span", { class: name ? "strong" : "strong muted-name" }, shown || t("none")),
    email ? el("span", { class: "email" }, email) : null);
}

function presenceMark(c) {
  const where = presence(c);
  if (!where) return null;
  return el("span", { class: "presence " + where, dataset: { presence: where }, title: t("presence." + where + ".title") },
    t("presence." + where));
}

function deviceCell(c) {
  if (!c.device) return el("span", { class: "line" }, presenceMark(c), t("none"));
  const rest = [c.device.os, c.device.user].filter(Boolean).join(" · ");
  return el("span", { class: "line", title: [c.device.hostname, rest].filter(Boolean).join(" · ") },
    presenceMark(c), el("span", { class: "host" }, c.device.hostname || t("none")));
}

function statusCell(c) {
  const sub = statusSub(c);
  return [
    el("span", { class: "status status-" + c.status, dataset: { status: c.status }, title: sub || null },
      t("status." + c.status)),
    sub ? el("span", { class: "sub status-sub" }, sub) : null,
  ];
}

function ageCell(c) {
  const shown = age(c);
  return el("time", { datetime: c.created_at, title: shown.title, class: shown.waiting ? "waiting" : null },
    shown.text);
}

function actionsCell(c) {
  const open = c.state === "open";
  const mine = state.me && c.assigned_userid === state.me.id;
  const codeVars = { code: c.code };
  if (!open) return [];
  return [
    c.expert_started && mine ? el("button", {
      type: "button", class: "small primary", "aria-label": t("act.sessionOf", codeVars),
      dataset: { key: "session:" + c.code }, onclick: () => openSession(c.code),
    }, t("act.session")) : el("button", {
      type: "button", class: "small primary", "aria-label": t("act.connectTo", codeVars),
      dataset: { key: "connect:" + c.code }, onclick: (e) => connect(c, e.currentTarget),
    }, t("act.connect")),
    el("button", {
      type: "button", class: "small", "aria-label": t("act.closeCase", codeVars),
      dataset: { key: "close:" + c.code }, onclick: () => closeCase(c.code),
    }, t("act.close")),
  ];
}

/** Fill the row *tr* with case *c*. */
export function buildCells(tr, c, onSelect) {
  const left = timeLeft(c);
  tr.replaceChildren(
    el("td", { class: "c-select" },
      el("input", {
        type: "checkbox", "aria-label": t("select.one", { code: c.code }), checked: state.selected.has(c.code),
        dataset: { key: "select:" + c.code }, onchange: (e) => onSelect(c.code, e.target.checked),
      })),
    cell(t("col.code"), "c-code",
      el("button", {
        type: "button", class: "code-link", title: t("act.detailsOf", { code: c.code }),
        "aria-label": t("act.detailsOf", { code: c.code }), dataset: { key: "details:" + c.code },
        onclick: () => openDetail(c.code),
      }, c.code),
      c.created_by === "customer" ? el("span", { class: "tag sos" }, t("tag.sos")) : null),
    cell(t("col.customer"), "c-customer", customerCell(c)),
    cell(t("col.problem"), "c-problem", el("span", { class: "line", title: c.description || null }, c.description || t("none"))),
    cell(t("col.device"), "c-device", deviceCell(c)),
    cell(t("col.status"), "c-status", statusCell(c)),
    cell(t("col.group"), "c-group", el("span", { class: "line", title: c.groupname }, c.groupname)),
    cell(t("col.assigned"), "c-assigned", el("span", { class: "line" }, c.assigned_name || t("none"))),
    cell(t("col.created"), "c-created", ageCell(c)),
    cell(t("col.left"), "c-left" + (left.soon ? " soon" : ""),
      el("time", { datetime: c.valid_until, title: null }, left.text)),
    cell(t("col.actions"), "c-actions", actionsCell(c)),
  );
  tr.classList.toggle("gone", presence(c) === "left");
  updateClock(tr, c);
}

/** The parts of a row that follow the clock: how long the customer waits, the time left. */
export function updateClock(tr, c) {
  const created = tr.querySelector(".c-created time");
  const leftCell = tr.querySelector(".c-left");
  if (!created || !leftCell) return;
  const shown = age(c);
  created.textContent = shown.text;
  created.classList.toggle("long", shown.waiting && shown.long);
  const left = timeLeft(c);
  leftCell.querySelector("time").textContent = left.text;
  leftCell.querySelector("time").title = c.state === "open" ? t("left.until", { at: formatTime(c.valid_until) }) : "";
  leftCell.classList.toggle("soon", left.soon);
}
