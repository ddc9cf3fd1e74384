// The expert console: log-in, the live queue, cases by hand, bulk delete,
// Connect/Close, a case's history, modules and groups.
//
// Safety rule: data from cases is only ever inserted as text (el() makes text
// nodes, textContent elsewhere); nothing here assigns HTML.

import { api, ApiError, onUnauthorized, query, setCsrf } from "./api.js";
import { formatTime, lang, setLang, t, translate } from "./i18n.js";

const PAGE_SIZE = 25;
const POLL_WAIT = 25; // seconds the server may hold /changes
const DRAFT_KEY = "sosdesk.createDraft";
const REOPEN_KEY = "sosdesk.createOpen";

const $ = (id) => document.getElementById(id);

const state = {
  me: null,
  view: "queue",
  filters: { status: "", groupid: "" },
  offset: 0,
  nextOffset: null,
  cases: [],
  selected: new Set(),
  known: null, // codes seen so far (null until the first load): tells new SOS apart
  newSos: [], // codes of SOS cases that arrived since the expert last looked
  experts: [],
  groups: [],
  pollGen: 0,
  pollAbort: null,
  detailCode: null,
  createdCode: null,
};

// -- small DOM helpers ---------------------------------------------------------------

/** An element; string children become text nodes (never HTML). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "checked" || key === "disabled" || key === "hidden") node[key] = Boolean(value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function flash(text, kind = "ok", target = "flash") {
  const node = $(target);
  node.textContent = text;
  node.className = "flash " + kind;
  clearTimeout(node._timer);
  node._timer = setTimeout(() => { node.textContent = ""; node.className = "flash"; }, 8000);
}

function errorText(error) {
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError) return t("error.network");
  return String(error && error.message ? error.message : error);
}

function showError(error, target = "flash") {
  if (error instanceof ApiError && error.status === 401) return; // back to log-in already
  flash(t("error.generic", { m: errorText(error) }), "error", target);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// -- log-in, log-out, ended sessions -------------------------------------------------

function showLogin(notice) {
  state.me = null;
  setCsrf(null);
  $("boot").hidden = true;
  for (const id of ["nav", "who", "logout-btn", "live", "notify-btn", "sos-badge", "queue-view", "modules-view"]) {
    $(id).hidden = true;
  }
  $("login-view").hidden = false;
  $("login-notice").hidden = !notice;
  $("login-notice").textContent = notice || "";
  $("login-error").textContent = "";
  $("login-password").value = "";
  const name = $("login-name");
  (name.value ? $("login-password") : name).focus();
}

async function login(event) {
  event.preventDefault();
  const name = $("login-name").value.trim();
  const password = $("login-password").value;
  const error = $("login-error");
  error.textContent = "";
  if (!name || !password) {
    error.textContent = t("login.failed");
    return;
  }
  const button = event.submitter || $("login-form").querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const data = await api("POST", "/login", { name, password });
    $("login-password").value = "";
    await loggedIn(data);
  } catch (err) {
    if (err instanceof ApiError && err.code === "login_failed") error.textContent = t("login.failed");
    else if (err instanceof ApiError && err.status === 429) error.textContent = t("login.limited", { s: err.retryAfter || 60 });
    else error.textContent = t("login.error", { m: errorText(err) });
    $("login-password").select();
  } finally {
    button.disabled = false;
  }
}

async function loggedIn(data) {
  state.me = data.expert;
  setCsrf(data.csrf_token);
  $("boot").hidden = true;
  $("login-view").hidden = true;
  $("login-notice").hidden = true;
  $("nav").hidden = false;
  $("who").hidden = false;
  $("who").textContent = t("user.as", { name: state.me.name });
  $("logout-btn").hidden = false;
  updateNotifyButton();
  showView(state.view);
  startPolling();
  loadExperts();
  if (sessionStorage.getItem(REOPEN_KEY) === "1") openCreate();
}

function sessionEnded() {
  if (!state.me) return;
  stopPolling();
  // Whatever was being typed stays: the create form's draft is in
  // sessionStorage, and REOPEN_KEY brings the dialog back after the log-in.
  if ($("create-dialog").open && !$("create-form").hidden) {
    saveDraft();
    sessionStorage.setItem(REOPEN_KEY, "1");
  }
  for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close("session");
  showLogin(t("login.expired"));
}

async function logout() {
  stopPolling();
  try { await api("POST", "/logout", undefined, { quiet401: true }); } catch { /* gone anyway */ }
  sessionStorage.removeItem(DRAFT_KEY);
  sessionStorage.removeItem(REOPEN_KEY);
  state.known = null;
  state.newSos = [];
  state.selected.clear();
  updateBadge();
  showLogin("");
}

// -- views ---------------------------------------------------------------------------

function showView(view) {
  state.view = view;
  $("queue-view").hidden = view !== "queue";
  $("modules-view").hidden = view !== "modules";
  for (const tab of document.querySelectorAll("#nav .tab")) {
    if (tab.dataset.view === view) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  if (view === "modules") loadModules();
}

// -- live updates (long-poll /changes) -------------------------------------------------

function startPolling() {
  stopPolling();
  const gen = ++state.pollGen;
  state.pollAbort = new AbortController();
  pollLoop(gen, state.pollAbort.signal);
}

function stopPolling() {
  state.pollGen++;
  if (state.pollAbort) state.pollAbort.abort();
  state.pollAbort = null;
}

function setLive(ok) {
  const live = $("live");
  live.hidden = false;
  live.dataset.ok = ok ? "1" : "0";
  live.textContent = ok ? t("queue.live") : t("queue.offline");
}

async function pollLoop(gen, signal) {
  let since = -1; // the first call answers at once with the current version
  let failures = 0;
  while (gen === state.pollGen) {
    try {
      const wait = since === -1 ? 0 : POLL_WAIT;
      const data = await api("GET", "/changes" + query({ since, wait }), undefined, { signal });
      if (gen !== state.pollGen) return;
      failures = 0;
      setLive(true);
      if (data.version !== since) {
        since = data.version;
        await refreshAll();
      }
    } catch (error) {
      if (gen !== state.pollGen || (error && error.name === "AbortError")) return;
      if (error instanceof ApiError && error.status === 401) return; // sessionEnded ran
      setLive(false);
      failures++;
      await sleep(Math.min(10000, 1000 * failures));
      since = -1; // the server may have restarted: load everything again
    }
  }
}

async function refreshAll() {
  const jobs = [refreshQueue(), checkNewSos(), loadGroups()];
  if (state.view === "modules") jobs.push(loadModules());
  if (state.detailCode && $("detail-dialog").open) jobs.push(loadDetail(state.detailCode));
  const results = await Promise.allSettled(jobs);
  for (const result of results) {
    if (result.status === "rejected") { showError(result.reason); break; }
  }
}

// -- new SOS: badge and notification ---------------------------------------------------

async function checkNewSos() {
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

function updateBadge() {
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

function updateNotifyButton() {
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

// -- the queue -----------------------------------------------------------------------

function queueQuery() {
  const status = state.filters.status;
  return query({
    state: status === "open" ? "open" : "",
    status: status && status !== "open" ? status : "",
    groupid: state.filters.groupid,
    offset: state.offset,
    limit: PAGE_SIZE,
  });
}

async function refreshQueue() {
  const data = await api("GET", "/sessions" + queueQuery());
  if (!data.sessions.length && state.offset > 0) { // the page emptied (deletes): go back one
    state.offset = Math.max(0, state.offset - PAGE_SIZE);
    return refreshQueue();
  }
  state.cases = data.sessions;
  state.nextOffset = data.next_offset;
  const present = new Set(state.cases.map((c) => c.code));
  for (const code of [...state.selected]) if (!present.has(code)) state.selected.delete(code);
  renderQueue();
}

function statusSub(c) {
  if (c.status !== "pending") return "";
  if (c.expert_started && !c.customer_started) return t("sub.waitingCustomer");
  if (c.customer_started && !c.expert_started) return t("sub.waitingExpert");
  return "";
}

function timeLeft(c) {
  if (c.state !== "open") return { text: t("left.none"), soon: false };
  const seconds = Math.floor((Date.parse(c.valid_until) - Date.now()) / 1000);
  if (seconds <= 0) return { text: t("left.due"), soon: true };
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const text = d ? t("left.dh", { d, h }) : h ? t("left.hm", { h, m }) : t("left.m", { m: Math.max(1, m) });
  return { text, soon: seconds < 3600 };
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
  return [el("span", {}, c.device.hostname || t("none")), rest ? el("span", { class: "sub" }, rest) : null];
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
    cell(t("col.group"), "c-group", c.groupid),
    cell(t("col.assigned"), "c-assigned", c.assigned_name || t("none")),
    cell(t("col.created"), "c-created", el("time", { datetime: c.created_at }, formatTime(c.created_at))),
    cell(t("col.left"), "c-left" + (left.soon ? " soon" : ""),
      el("time", { datetime: c.valid_until, title: formatTime(c.valid_until) }, left.text)),
    cell(t("col.actions"), "c-actions",
      open && !c.expert_started ? el("button", {
        type: "button", class: "small primary", "aria-label": t("act.connectTo", { code: c.code }),
        dataset: { key: "connect:" + c.code }, onclick: (e) => connect(c.code, e.currentTarget),
      }, t("act.connect")) : null,
      open && c.expert_started && !mine && c.assigned_name ? el("span", { class: "sub" }, c.assigned_name) : null,
      open ? el("button", {
        type: "button", class: "small", "aria-label": t("act.closeCase", { code: c.code }),
        dataset: { key: "close:" + c.code }, onclick: () => closeCase(c.code),
      }, t("act.close")) : null),
  );
  tr.dataset.version = String(c.version);
  tr.dataset.lang = lang();
  tr.dataset.status = c.status;
}

/** Show state.cases: rows are kept per code and rebuilt only when their case changed. */
function renderQueue() {
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
    if (tr.dataset.version !== String(c.version) || tr.dataset.lang !== lang() || tr.dataset.me !== (state.me && state.me.id)) {
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

function markFreshRows() {
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
  const page = Math.floor(state.offset / PAGE_SIZE) + 1;
  const first = state.cases.length ? state.offset + 1 : 0;
  $("page-label").textContent = state.cases.length
    ? `${t("queue.page", { n: page })} · ${t("queue.range", { from: first, to: state.offset + state.cases.length })}`
    : t("queue.page", { n: page });
  $("prev-btn").disabled = state.offset === 0;
  $("next-btn").disabled = state.nextOffset === null;
  $("prev-btn").closest(".pager").hidden = state.offset === 0 && state.nextOffset === null;
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

function changeFilters() {
  state.filters.status = $("filter-status").value;
  state.filters.groupid = $("filter-group").value;
  state.offset = 0;
  state.selected.clear();
  refreshQueue().catch(showError);
}

function changePage(delta) {
  const offset = delta > 0 ? state.nextOffset : Math.max(0, state.offset - PAGE_SIZE);
  if (offset === null || offset === undefined) return;
  state.offset = offset;
  state.selected.clear();
  refreshQueue().then(() => $("queue").scrollIntoView({ block: "start" })).catch(showError);
}

async function loadGroups() {
  const data = await api("GET", "/groups");
  state.groups = data.groups;
  const select = $("filter-group");
  const value = select.value;
  select.replaceChildren(el("option", { value: "", "data-i18n": "filter.allGroups" }, t("filter.allGroups")),
    ...state.groups.map((g) => el("option", { value: g }, g)));
  if (value && !state.groups.includes(value)) select.append(el("option", { value }, value));
  select.value = value;
  $("group-options").replaceChildren(...state.groups.map((g) => el("option", { value: g })));
  renderGroups();
}

async function loadExperts() {
  try {
    const data = await api("GET", "/experts");
    state.experts = data.experts;
  } catch (error) {
    showError(error);
  }
  fillAssignees();
}

function fillAssignees() {
  const select = $("c-assignee");
  const value = select.value;
  select.replaceChildren(el("option", { value: "" }, t("create.unassigned")),
    ...state.experts.map((x) => el("option", { value: x.id }, x.name)));
  select.value = value;
}

// -- actions on cases ----------------------------------------------------------------

function confirmDialog({ title, text, ok }) {
  const dialog = $("confirm-dialog");
  $("confirm-heading").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = ok;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
    $("confirm-cancel").focus();
  });
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
    flash(t("connect.done", { code }));
    await refreshQueue();
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

// -- a case's detail and history --------------------------------------------------------

function who(event) {
  if (event.actor === "customer") return t("who.customer");
  if (event.actor === "system") return t("who.system");
  return t("who.expert", { name: event.actor_name || event.actor });
}

async function loadDetail(code) {
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

async function openDetail(code) {
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

// -- create a case by hand -----------------------------------------------------------

const DRAFT_FIELDS = ["c-name", "c-email", "c-description", "c-group", "c-assignee", "c-validity"];

function saveDraft() {
  const draft = {};
  for (const id of DRAFT_FIELDS) draft[id] = $(id).value;
  sessionStorage.setItem(DRAFT_KEY, JSON.stringify(draft));
}

function restoreDraft() {
  let draft = null;
  try { draft = JSON.parse(sessionStorage.getItem(DRAFT_KEY) || "null"); } catch { draft = null; }
  for (const id of DRAFT_FIELDS) {
    const field = $(id);
    if (draft && typeof draft[id] === "string") {
      if (field.tagName === "SELECT" && id === "c-assignee" && draft[id] && !state.experts.some((x) => x.id === draft[id])) {
        field.append(el("option", { value: draft[id] }, draft[id]));
      }
      field.value = draft[id];
    } else {
      field.value = id === "c-group" ? "default" : id === "c-validity" ? "24" : "";
    }
  }
}

function clearDraft() {
  sessionStorage.removeItem(DRAFT_KEY);
  sessionStorage.removeItem(REOPEN_KEY);
}

function clearFieldErrors() {
  $("create-error").textContent = "";
  for (const node of document.querySelectorAll("#create-form .field-error")) node.textContent = "";
  for (const node of document.querySelectorAll("#create-form [aria-invalid]")) {
    node.removeAttribute("aria-invalid");
    node.removeAttribute("aria-describedby");
  }
}

function openCreate() {
  const dialog = $("create-dialog");
  $("create-form").hidden = false;
  $("create-result").hidden = true;
  clearFieldErrors();
  fillAssignees();
  restoreDraft();
  sessionStorage.setItem(REOPEN_KEY, "1");
  dialog.returnValue = "";
  if (!dialog.open) dialog.showModal();
  $("c-name").focus();
}

function cancelCreate() {
  clearDraft();
  $("create-dialog").close("cancel");
}

const FIELD_OF = {
  "end_customer.name": "c-name", "end_customer.email": "c-email", description: "c-description",
  groupid: "c-group", assigned_userid: "c-assignee", valid_until: "c-validity",
};

async function submitCreate(event) {
  event.preventDefault();
  clearFieldErrors();
  saveDraft();
  const hours = Number($("c-validity").value) || 24;
  // 30 days is the server's limit: stay a minute inside it.
  const until = new Date(Date.now() + hours * 3600 * 1000 - (hours >= 720 ? 60000 : 0));
  const body = {
    end_customer: { name: $("c-name").value.trim(), email: $("c-email").value.trim() },
    description: $("c-description").value,
    groupid: $("c-group").value.trim() || "default",
    assigned_userid: $("c-assignee").value || null,
    valid_until: until.toISOString().replace(/\.\d{3}Z$/, "Z"),
  };
  const button = $("create-submit");
  button.disabled = true;
  try {
    const c = await api("POST", "/sessions", body);
    clearDraft();
    showCreated(c);
    refreshQueue().catch(showError);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    if (error instanceof ApiError && error.body.fields) {
      let first = null;
      for (const [field, message] of Object.entries(error.body.fields)) {
        const id = FIELD_OF[field];
        if (!id) continue;
        const input = $(id);
        input.setAttribute("aria-invalid", "true");
        input.setAttribute("aria-describedby", id + "-error");
        $(id + "-error").textContent = message;
        first = first || input;
      }
      $("create-error").textContent = t("error.fields");
      if (first) first.focus();
    } else {
      $("create-error").textContent = t("error.generic", { m: errorText(error) });
    }
  } finally {
    button.disabled = false;
  }
}

function showCreated(c) {
  state.createdCode = c.code;
  $("create-form").hidden = true;
  $("create-result").hidden = false;
  $("created-code").textContent = c.code;
  $("created-for").textContent = [c.end_customer.name, c.description].filter(Boolean).join(" – ");
  $("copy-status").textContent = "";
  $("copy-btn").focus();
}

async function copyCode() {
  const code = state.createdCode;
  try {
    await navigator.clipboard.writeText(code);
    $("copy-status").textContent = t("create.copied");
  } catch {
    const range = document.createRange();
    range.selectNodeContents($("created-code"));
    const selection = getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    let copied = false;
    try { copied = document.execCommand("copy"); } catch { copied = false; }
    $("copy-status").textContent = copied ? t("create.copied") : t("create.copyFailed");
  }
}

// -- modules and groups --------------------------------------------------------------

async function loadModules() {
  let data;
  try {
    data = await api("GET", "/modules");
  } catch (error) {
    showError(error, "modules-flash");
    return;
  }
  $("modules-body").replaceChildren(...data.modules.map((m) => el("tr", { dataset: { module: m.module_id } },
    el("td", { "data-label": t("modules.name"), class: "strong" }, m.name),
    el("td", { "data-label": t("modules.id") }, el("code", {}, m.module_id)),
    el("td", { "data-label": t("modules.group") }, m.groupid),
    el("td", { "data-label": t("modules.created") }, formatTime(m.created_at)),
    el("td", { "data-label": t("modules.state") },
      m.active ? el("span", { class: "status status-in_progress" }, t("modules.active"))
        : el("span", { class: "status status-closed" }, t("modules.revoked", { at: formatTime(m.revoked_at) }))),
    el("td", { "data-label": t("col.actions") },
      m.active ? el("button", {
        type: "button", class: "small danger", "aria-label": t("modules.revokeOf", { name: m.name }),
        onclick: () => revokeModule(m),
      }, t("modules.revoke")) : null),
  )));
  $("modules-empty").hidden = data.modules.length > 0;
  $("modules").classList.toggle("is-empty", data.modules.length === 0);
  loadGroups().catch(() => {});
}

async function revokeModule(m) {
  const ok = await confirmDialog({
    title: t("revoke.heading"), text: t("revoke.text", { name: m.name, id: m.module_id }), ok: t("revoke.confirm"),
  });
  if (!ok) return;
  try {
    await api("DELETE", `/modules/${encodeURIComponent(m.module_id)}`);
    flash(t("revoke.done", { name: m.name }), "ok", "modules-flash");
  } catch (error) {
    showError(error, "modules-flash");
  }
  await loadModules();
}

function renderGroups() {
  $("groups-list").replaceChildren(...state.groups.map((g) => el("li", {},
    el("button", {
      type: "button", class: "chip", "aria-label": t("groups.show", { g }),
      onclick: () => {
        $("filter-group").value = g;
        showView("queue");
        changeFilters();
      },
    }, g))));
}

// -- language --------------------------------------------------------------------------

function applyLanguage() {
  translate();
  $("lang-select").value = lang();
  if (state.me) $("who").textContent = t("user.as", { name: state.me.name });
  if ($("live").dataset.ok) setLive($("live").dataset.ok === "1");
  updateBadge();
  updateNotifyButton();
  fillAssignees();
  if (state.me) {
    renderQueue();
    renderGroups();
    if (state.view === "modules") loadModules();
    if ($("detail-dialog").open && state.detailCode) loadDetail(state.detailCode).catch(showError);
  }
  if (!$("login-notice").hidden && $("login-notice").textContent) $("login-notice").textContent = t("login.expired");
}

// -- start -----------------------------------------------------------------------------

function wire() {
  $("login-form").addEventListener("submit", login);
  $("logout-btn").addEventListener("click", logout);
  $("lang-select").addEventListener("change", (e) => { setLang(e.target.value); applyLanguage(); });
  for (const tab of document.querySelectorAll("#nav .tab")) tab.addEventListener("click", () => showView(tab.dataset.view));
  $("sos-badge").addEventListener("click", () => {
    $("filter-status").value = "";
    $("filter-group").value = "";
    showView("queue");
    changeFilters();
    dismissBadge();
    $("queue-heading").scrollIntoView();
  });
  $("notify-btn").addEventListener("click", askNotifications);
  $("filter-status").addEventListener("change", changeFilters);
  $("filter-group").addEventListener("change", changeFilters);
  $("select-all").addEventListener("change", (e) => selectAll(e.target.checked));
  $("delete-btn").addEventListener("click", deleteSelected);
  $("new-btn").addEventListener("click", openCreate);
  $("prev-btn").addEventListener("click", () => changePage(-1));
  $("next-btn").addEventListener("click", () => changePage(+1));
  $("create-form").addEventListener("submit", submitCreate);
  $("create-form").addEventListener("input", saveDraft);
  $("create-form").addEventListener("change", saveDraft);
  $("create-cancel").addEventListener("click", cancelCreate);
  $("create-dialog").addEventListener("cancel", () => { if (!$("create-form").hidden) clearDraft(); });
  $("create-dialog").addEventListener("close", () => {
    // Closed because the login session ended: reopen it after the next log-in.
    if ($("create-dialog").returnValue === "session") return;
    sessionStorage.removeItem(REOPEN_KEY);
  });
  $("copy-btn").addEventListener("click", copyCode);
  $("create-done").addEventListener("click", () => { sessionStorage.removeItem(REOPEN_KEY); $("create-dialog").close("done"); });
  $("create-another").addEventListener("click", openCreate);
  $("detail-close").addEventListener("click", () => $("detail-dialog").close());
  $("detail-dialog").addEventListener("close", () => { state.detailCode = null; });
  onUnauthorized(sessionEnded);
  setInterval(updateTimes, 30000);
  // Someone coming back to the tab sees the new SOS: the badge stays until clicked.
}

async function boot() {
  translate();
  $("lang-select").value = lang();
  updateBadge();
  wire();
  try {
    const data = await api("GET", "/me", undefined, { quiet401: true });
    await loggedIn(data);
  } catch (error) {
    const notice = sessionStorage.getItem(REOPEN_KEY) === "1" ? t("login.expired") : "";
    showLogin(notice);
    if (!(error instanceof ApiError && error.status === 401)) $("login-error").textContent = errorText(error);
  }
}

boot();
