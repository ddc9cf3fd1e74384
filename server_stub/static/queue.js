// The queue: the page of cases with filters, paging and selection, each case's
// presence, and the actions on cases (Connect / open its session, Close,
// delete the selected).

import { api, ApiError, query } from "./api.js";
import { statusSub, timeLeft } from "./case-text.js";
import { openDetail } from "./detail.js";
import { $, confirmDialog, el, flash, showError } from "./dom.js";
import { formatTime, lang, t } from "./i18n.js";
import { openSession } from "./remote.js";
import { PAGE_SIZE, state } from "./state.js";

function queueQuery() {
  const status = state.filters.status;
  return query({
    // Without state or status the API lists open cases only (as TeamViewer's does).
    state: status === "open" ? "open" : (status ? "" : "open,closed"),
    status: status && status !== "open" ? status : "",
    groupid: state.filters.groupid,
    // Keyset paging: after the case that ended the page before, so cases made or
    // closed meanwhile neither repeat nor drop out between pages.
    offset: currentPage().offset,
    limit: PAGE_SIZE,
    count: "false", // sessions_remaining is not shown: not worth counting on every change
  });
}

function currentPage() { return state.pages[state.pages.length - 1]; }

function firstPage() { state.pages = [{ offset: null, before: 0 }]; }

export async function refreshQueue() {
  let data;
  try {
    data = await api("GET", "/sessions" + queueQuery());
  } catch (error) {
    const anchorGone = error instanceof ApiError && error.status === 400
      && error.body.fields && error.body.fields.offset;
    if (!anchorGone || state.pages.length === 1) throw error;
    firstPage(); // the case this page continued after was deleted: start over
    return refreshQueue();
  }
  if (!data.sessions.length && state.pages.length > 1) { // the page emptied: go back one
    state.pages.pop();
    return refreshQueue();
  }
  state.cases = data.sessions;
  state.nextOffset = data.next_offset;
  const present = new Set(state.cases.map((c) => c.code));
  for (const code of [...state.selected]) if (!present.has(code)) state.selected.delete(code);
  renderQueue();
}

function customerCell(c) {
  const name = c.end_customer && c.end_customer.name;
  const email = c.end_customer && c.end_customer.email;
  // An SOS has no stated name: the device's user name stands in, shown quieter.
  return [
    name ? el("span", { class: "strong" }, name)
      : el("span", { class: "strong muted-name" }, (c.device && c.device.user) || t("none")),
    email ? el("span", { class: "sub" }, email) : null,
  ];
}

function deviceCell(c) {
  if (!c.device) return t("none");
  const rest = [c.device.os, c.device.user].filter(Boolean).join(" · ");
  return [el("span", {}, c.device.hostname || t("none")), rest ? el("span", { class: "sub" }, rest) : null,
    presence(c)];
}

/** Whether the customer's agent is there now: online, or left (it had the case, and is gone). */
function presence(c) {
  if (c.state !== "open") return null;
  const online = Boolean(c.online);
  return el("span", { class: "presence " + (online ? "online" : "left"), dataset: { presence: online ? "online" : "left" } },
    online ? t("presence.online") : t("presence.left"));
}

/** What the row shows that can change without the case's version (live state). */
function liveKey(c) {
  const r = c.remote;
  return [c.online, r && r.view, r && r.control, r && r.viewer_attached].join("|");
}

function buildCells(tr, c) {
  const mine = state.me && c.assigned_userid === state.me.id;
  const open = c.state === "open";
  const left = timeLeft(c);
  const cell = (label, cls, ...children) => el("td", { "data-label": label, class: cls }, el("div", { class: "cv" }, ...children));
  tr.replaceChildren(
    el("td", { class: "c-select" },
      el("input", {
        type: "checkbox", "aria-label": t("select.one", { code: c.code }), checked: state.selected.has(c.code),
        dataset: { key: "select:" + c.code }, onchange: (e) => toggleSelect(c.code, e.target.checked),
      })),
    cell(t("col.code"), "c-code",
      el("button", {
        type: "button", class: "code-link", title: t("act.detailsOf", { code: c.code }),
        "aria-label": t("act.detailsOf", { code: c.code }), dataset: { key: "details:" + c.code },
        onclick: () => openDetail(c.code),
      }, c.code),
      c.created_by === "customer" ? el("span", { class: "tag sos" }, t("tag.sos")) : null),
    cell(t("col.customer"), "c-customer", customerCell(c)),
    cell(t("col.problem"), "c-problem", el("span", { class: "clamp", title: c.description || null }, c.description || t("none"))),
    cell(t("col.device"), "c-device", deviceCell(c)),
    cell(t("col.status"), "c-status",
      el("span", { class: "status status-" + c.status, dataset: { status: c.status } }, t("status." + c.status)),
      statusSub(c) ? el("span", { class: "sub status-sub" }, statusSub(c)) : null),
    cell(t("col.group"), "c-group", c.groupname),
    cell(t("col.assigned"), "c-assigned", c.assigned_name || t("none")),
    cell(t("col.created"), "c-created", el("time", { datetime: c.created_at }, formatTime(c.created_at))),
    cell(t("col.left"), "c-left" + (left.soon ? " soon" : ""),
      el("time", { datetime: c.valid_until, title: formatTime(c.valid_until) }, left.text)),
    cell(t("col.actions"), "c-actions",
      open && !c.expert_started ? el("button", {
        type: "button", class: "small primary", "aria-label": t("act.connectTo", { code: c.code }),
        dataset: { key: "connect:" + c.code }, onclick: (e) => connect(c.code, e.currentTarget),
      }, t("act.connect")) : null,
      open && c.expert_started && mine ? el("button", {
        type: "button", class: "small primary", "aria-label": t("act.sessionOf", { code: c.code }),
        dataset: { key: "session:" + c.code }, onclick: () => openSession(c.code),
      }, t("act.session")) : null,
      open && c.expert_started && !mine && c.assigned_name ? el("span", { class: "sub" }, c.assigned_name) : null,
      open ? el("button", {
        type: "button", class: "small", "aria-label": t("act.closeCase", { code: c.code }),
        dataset: { key: "close:" + c.code }, onclick: () => closeCase(c.code),
      }, t("act.close")) : null),
  );
  tr.dataset.version = String(c.version);
  tr.dataset.live = liveKey(c);
  tr.dataset.lang = lang();
  tr.dataset.status = c.status;
}

/** Show state.cases: rows are kept per code and rebuilt only when their case changed. */
export function renderQueue() {
  const body = $("queue-body");
  const focusKey = document.activeElement && body.contains(document.activeElement)
    ? document.activeElement.dataset.key : null;
  const rows = new Map([...body.children].map((tr) => [tr.dataset.code, tr]));
  state.cases.forEach((c, index) => {
    let tr = rows.get(c.code);
    rows.delete(c.code);
    if (!tr) {
      tr = el("tr", { dataset: { code: c.code } });
    }
    if (tr.dataset.version !== String(c.version) || tr.dataset.live !== liveKey(c) || tr.dataset.lang !== lang()
        || tr.dataset.me !== (state.me && state.me.id)) {
      buildCells(tr, c);
      tr.dataset.me = state.me ? state.me.id : "";
    }
    if (body.children[index] !== tr) body.insertBefore(tr, body.children[index] || null);
  });
  for (const tr of rows.values()) tr.remove();
  if (focusKey) {
    const again = body.querySelector(`[data-key="${CSS.escape(focusKey)}"]`);
    if (again && document.activeElement !== again) again.focus();
  }
  for (const box of body.querySelectorAll("input[type=checkbox]")) {
    box.checked = state.selected.has(box.closest("tr").dataset.code);
  }
  $("queue-empty").hidden = state.cases.length > 0;
  $("queue").classList.toggle("is-empty", state.cases.length === 0);
  markFreshRows();
  updateSelectionUi();
  updatePager();
}

export function markFreshRows() {
  for (const tr of $("queue-body").children) tr.classList.toggle("fresh", state.newSos.includes(tr.dataset.code));
}

function updateTimes() {
  const byCode = new Map(state.cases.map((c) => [c.code, c]));
  for (const tr of $("queue-body").children) {
    const c = byCode.get(tr.dataset.code);
    const cell = tr.querySelector(".c-left");
    if (!c || !cell) continue;
    const left = timeLeft(c);
    cell.querySelector("time").textContent = left.text;
    cell.classList.toggle("soon", left.soon);
  }
}

function updatePager() {
  const page = state.pages.length;
  const before = currentPage().before;
  $("page-label").textContent = state.cases.length
    ? `${t("queue.page", { n: page })} · ${t("queue.range", { from: before + 1, to: before + state.cases.length })}`
    : t("queue.page", { n: page });
  $("prev-btn").disabled = page === 1;
  $("next-btn").disabled = state.nextOffset === null;
  $("prev-btn").closest(".pager").hidden = page === 1 && state.nextOffset === null;
}

function toggleSelect(code, on) {
  if (on) state.selected.add(code); else state.selected.delete(code);
  updateSelectionUi();
}

function updateSelectionUi() {
  const n = state.selected.size;
  const button = $("delete-btn");
  button.textContent = t("queue.deleteSelected", { n });
  button.disabled = n === 0;
  const all = $("select-all");
  all.checked = state.cases.length > 0 && state.cases.every((c) => state.selected.has(c.code));
  all.indeterminate = n > 0 && !all.checked;
}

function selectAll(on) {
  for (const c of state.cases) {
    if (on) state.selected.add(c.code); else state.selected.delete(c.code);
  }
  renderQueue();
}

export function changeFilters() {
  state.filters.status = $("filter-status").value;
  state.filters.groupid = $("filter-group").value;
  firstPage();
  state.selected.clear();
  refreshQueue().catch(showError);
}

function changePage(delta) {
  if (delta > 0) {
    if (state.nextOffset === null || state.nextOffset === undefined) return;
    state.pages.push({ offset: state.nextOffset, before: currentPage().before + state.cases.length });
  } else {
    if (state.pages.length === 1) return;
    state.pages.pop();
  }
  state.selected.clear();
  refreshQueue().then(() => $("queue").scrollIntoView({ block: "start" })).catch(showError);
}

async function deleteSelected() {
  const codes = [...state.selected];
  const n = codes.length;
  if (!n) return;
  const ok = await confirmDialog({
    title: t("delete.heading"),
    text: n === 1 ? t("delete.text1") : t("delete.text", { n }),
    ok: t("delete.confirm"),
  });
  if (!ok) return;
  try {
    const data = await api("POST", "/sessions/delete", { codes });
    for (const code of codes) state.selected.delete(code);
    flash(data.deleted === 1 ? t("delete.done1") : t("delete.done", { n: data.deleted }));
    await refreshQueue();
  } catch (error) {
    if (error instanceof ApiError && Array.isArray(error.body.missing)) {
      // Someone else deleted some of them first; nothing was deleted.
      for (const code of error.body.missing) state.selected.delete(code);
      updateSelectionUi();
    }
    showError(error);
    refreshQueue().catch(() => {});
  }
}

async function connect(code, button) {
  if (button) button.disabled = true;
  try {
    await api("POST", `/sessions/${encodeURIComponent(code)}/connect`);
    await openSession(code);
    refreshQueue().catch(showError);
  } catch (error) {
    showError(error);
    if (button) button.disabled = false;
  }
}

async function closeCase(code) {
  const ok = await confirmDialog({ title: t("close.heading"), text: t("close.text", { code }), ok: t("close.confirm") });
  if (!ok) return;
  try {
    await api("PUT", `/sessions/${encodeURIComponent(code)}`, { state: "closed" });
    flash(t("close.done", { code }));
    await refreshQueue();
  } catch (error) {
    showError(error);
  }
}

export function wireQueue() {
  $("filter-status").addEventListener("change", changeFilters);
  $("filter-group").addEventListener("change", changeFilters);
  $("select-all").addEventListener("change", (e) => selectAll(e.target.checked));
  $("delete-btn").addEventListener("click", deleteSelected);
  $("prev-btn").addEventListener("click", () => changePage(-1));
  $("next-btn").addEventListener("click", () => changePage(+1));
  setInterval(updateTimes, 30000);
}
