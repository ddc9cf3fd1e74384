// After the expert changed cases (connect, close, delete, edit), the views that
// show them load again. Each view registers that itself, so the modules that
// change cases need none of them (no import cycle).

const listeners = [];

/** Run *reload* after every change the expert makes. */
export function whenCasesChange(reload) { listeners.push(reload); }

/** The expert changed cases: every view that shows them loads again. */
export function casesChanged() {
  for (const reload of listeners) reload();
}
