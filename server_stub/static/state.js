// What the console knows and shows, shared by every view: one object whose
// fields the views read and change.

export const PAGE_SIZE = 25;
export const DRAFT_KEY = "sosdesk.createDraft";
export const REOPEN_KEY = "sosdesk.createOpen";

export const state = {
  me: null,
  view: "queue",
  filters: { status: "", groupid: "" },
  // The pages walked to the one shown, first to current: each continues after the
  // case its offset names (null: the first), with how many cases came before it.
  pages: [{ offset: null, before: 0 }],
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
  sessionCode: null, // the case whose session view is open
  createdCode: null,
};
