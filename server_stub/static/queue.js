// The queue: a page of cases found by the filters and the search, sorted by a
// column, paged by the server's keyset cursor; the selection and the pager with
// the total. By default the open cases, the longest-waiting first.

import { api, query } from "./api.js";
import { deleteSelected } from "./case-actions.js";
import { $, el, showError } from "./dom.js";
import { lang, t } from "./i18n.js";
import { buildCells, updateClock } from "./queue-row.js";
import { whenCasesChange } from "./refresh.js";
import { PAGE_SIZE, state } from "./state.js";

const OPEN = ["open", "new", "pending", "in_progress"];
const SEARCH_DELAY = 250; // ms after the last key before the search runs

/** The order shown: the column the expert chose, else the longest-waiting first for open cases. */
export function currentSort() {
  if (state.sort) return state.sort;
  // Open cases: the customers waiting for an expert first, the longest-waiting on top.
  return OPEN.includes(state.filters.status) ? { key: "waiting", order: "asc" } : { key: "created", order: "desc" };
}

function queueQuery(cursor) {
  const { status, groupid, q, mine } = state.filters;
  const sort = currentSort();
  return query({
    state: status === "open" ? "open" : status ? "" : "open,closed",
    status: status && status !== "open" ? status : "",
    groupid,
    assigned_userid: mine && state.me ? state.me.id : "",
    q: q.trim(),
    sort: sort.key,
    order: sort.order,
    cursor,
    total: "true",
    limit: PAGE_SIZE,
  });
}

let loading = 0;

export async function refreshQueue() {
  const ticket = ++loading;
  const page = state.cursors.length - 1;
  const data = await api("GET", "/queue" + queueQuery(state.cursors[page]));
  if (ticket !== loading) return; // a newer load (another filter, page or sort) wins
  if (!data.sessions.length && page > 0) { // the page emptied (deletes): go back one
    state.cursors.pop();
    return refreshQueue();
  }
  state.cases = data.sessions;
  state.nextCursor = data.next_cursor;
  state.total = data.total;
  state.before = data.before ?? (page * PAGE_SIZE); // cases on the pages before this one
  const present = new Set(state.cases.map((c) => c.code));
  for (const code of [...state.selected]) if (!present.has(code)) state.selected.delete(code);
  renderQueue();
}

/** What the row shows that can change without the case's version (live state). */
function liveKey(c) {
  const r = c.remote;
  return [c.online, r && r.view, r && r.control, r && r.viewer_attached].join("|");
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
    if (!tr) tr = el("tr", { dataset: { code: c.code } });
    const me = state.me ? state.me.id : "";
    if (tr.dataset.version !== String(c.version) || tr.dataset.live !== liveKey(c) || tr.dataset.lang !== lang()
        || tr.dataset.me !== me) {
      buildCells(tr, c, toggleSelect);
      Object.assign(tr.dataset, { version: String(c.version), live: liveKey(c), lang: lang(), me, status: c.status });
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
  renderSortHeaders();
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
    if (c) updateClock(tr, c);
  }
}

function renderSortHeaders() {
  const sort = currentSort();
  for (const th of document.querySelectorAll("#queue th[data-sort]")) {
    const on = th.dataset.sort === columnOf(sort.key);
    if (on) th.setAttribute("aria-sort", sort.order === "asc" ? "ascending" : "descending");
    else th.removeAttribute("aria-sort");
    th.querySelector("button").title = t("sort.by", { column: th.querySelector("button").textContent });
  }
  $("queue-caption").textContent = t("queue.caption", {
    column: t("col." + ({ valid_until: "left", waiting: "created" }[sort.key] || sort.key)),
    order: t("sort." + sort.order),
  });
}

function updatePager() {
  const page = state.cursors.length;
  const from = state.before + 1;
  $("page-label").textContent = state.cases.length
    ? t("queue.pageOf", { n: page, from, to: from + state.cases.length - 1, total: state.total })
    : t("queue.page", { n: page });
  $("prev-btn").disabled = page === 1;
  $("next-btn").disabled = !state.nextCursor;
  $("prev-btn").hidden = $("next-btn").hidden = page === 1 && !state.nextCursor;
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

/** Start again from the first page after the filters, the search or the order changed. */
export function changeFilters() {
  state.filters.status = $("filter-status").value;
  state.filters.groupid = $("filter-group").value;
  state.filters.mine = $("filter-mine").checked;
  state.filters.q = $("search").value;
  state.cursors = [null];
  state.selected.clear();
  refreshQueue().catch(showError);
}

/** Show a filter as the queue's way in (the SOS badge, a group's chip). */
export function showFiltered({ status = "open", groupid = "" } = {}) {
  $("filter-status").value = status;
  $("filter-group").value = groupid;
  $("filter-mine").checked = false;
  $("search").value = "";
  changeFilters();
}

/** The column a sort is shown on: the Waiting column sorts by waiting, or by age alone. */
function columnOf(key) {
  return key === "created" ? "waiting" : key;
}

function sortBy(key) {
  const sort = currentSort();
  // The same column again turns the order round; another starts with its natural order.
  const order = columnOf(sort.key) === key ? (sort.order === "asc" ? "desc" : "asc") : "asc";
  state.sort = { key, order };
  changeFilters();
}

function changePage(delta) {
  if (delta > 0) {
    if (!state.nextCursor) return;
    state.cursors.push(state.nextCursor);
  } else {
    if (state.cursors.length === 1) return;
    state.cursors.pop();
  }
  state.selected.clear();
  refreshQueue().then(() => $("queue").scrollIntoView({ block: "start" })).catch(showError);
}

export function wireQueue() {
  for (const id of ["filter-status", "filter-group", "filter-mine"]) $(id).addEventListener("change", changeFilters);
  let timer = null;
  $("search").addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(changeFilters, SEARCH_DELAY);
  });
  $("search").addEventListener("keydown", (e) => {
    if (e.key === "Enter") { clearTimeout(timer); changeFilters(); }
  });
  for (const th of document.querySelectorAll("#queue th[data-sort]")) {
    th.querySelector("button").addEventListener("click", () => sortBy(th.dataset.sort));
  }
  $("select-all").addEventListener("change", (e) => selectAll(e.target.checked));
  $("delete-btn").addEventListener("click", () => deleteSelected(updateSelectionUi));
  $("prev-btn").addEventListener("click", () => changePage(-1));
  $("next-btn").addEventListener("click", () => changePage(+1));
  whenCasesChange(() => refreshQueue().catch(showError));
  setInterval(updateTimes, 15000);
}
