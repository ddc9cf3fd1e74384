// What the console knows and shows, shared by every view: one object whose
// fields the views read and change.

export const PAGE_SIZE = 25;
export const DRAFT_KEY = "sosdesk.createDraft";
export const REOPEN_KEY = "sosdesk.createOpen";

export const state = {
  me: null,
  view: "queue",
  filters: { status: "open", groupid: "", q: "", mine: false },
  sort: null, // {key, order} the expert chose by a column's header; null: the view's own
  cursors: [null], // where each page seen so far starts (keyset cursors; the first: none)
  nextCursor: null,
  total: 0,
  before: 0, // how many cases the pages before this one hold now (the server counts them)
  cases: [],
  selected: new Set(),
  known: null, // codes seen so far (null until the first load): tells new SOS apart
  newSos: [], // codes of SOS cases that arrived since the expert last looked
  experts: [],
  groups: [],
  modules: new Map(), // module id -> name, for the detail
  pollGen: 0,
  pollAbort: null,
  detailCode: null,
  sessionCode: null, // the case whose session view is open
  createdCode: null,
};
