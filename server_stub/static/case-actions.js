// What the expert does to cases from the queue: Connect (asking first when the
// case is someone else's), Close, and delete the selected after a confirmation
// that lists them.

import { api, ApiError } from "./api.js";
import { customerName } from "./case-text.js";
import { confirmDialog, flash, showError } from "./dom.js";
import { t } from "./i18n.js";
import { casesChanged } from "./refresh.js";
import { openSession } from "./remote.js";
import { state } from "./state.js";

const path = (code) => `/sessions/${encodeURIComponent(code)}`;

/** Connect to case *c*; a case assigned to another expert is taken over only once the expert says so. */
export async function connect(c, button) {
  // "u0" is nobody (TeamViewer's form).
  const other = Boolean(c.assigned_userid) && c.assigned_userid !== "u0" && !(state.me && c.assigned_userid === state.me.id);
  if (other) {
    const vars = { code: c.code, name: c.assigned_name || "?" };
    const ok = await confirmDialog({
      title: t("takeover.heading"),
      text: t(c.expert_started ? "takeover.textConnected" : "takeover.text", vars),
      ok: t("takeover.confirm"),
    });
    if (!ok) return;
  }
  if (button) button.disabled = true;
  try {
    // Taking over: the case becomes this expert's first (its running session, if any, ends).
    if (other) await api("PUT", path(c.code), { assigned_userid: state.me.id });
    await api("POST", path(c.code) + "/connect");
    await openSession(c.code);
    casesChanged();
  } catch (error) {
    showError(error);
    if (button) button.disabled = false;
  }
}

export async function closeCase(code) {
  const ok = await confirmDialog({ title: t("close.heading"), text: t("close.text", { code }), ok: t("close.confirm") });
  if (!ok) return;
  try {
    await api("PUT", path(code), { state: "closed" });
    flash(() => t("close.done", { code }));
    casesChanged();
  } catch (error) {
    showError(error);
  }
}

/** Delete the selected cases once the expert confirmed the list of their codes and customers. */
export async function deleteSelected(afterwards) {
  const codes = [...state.selected];
  const n = codes.length;
  if (!n) return;
  const byCode = new Map(state.cases.map((c) => [c.code, c]));
  const ok = await confirmDialog({
    title: t("delete.heading"),
    text: n === 1 ? t("delete.text1") : t("delete.text", { n }),
    items: codes.map((code) => `${code} – ${(byCode.has(code) && customerName(byCode.get(code))) || t("none")}`),
    ok: t("delete.confirm"),
  });
  if (!ok) return;
  try {
    const data = await api("POST", "/sessions/delete", { codes });
    for (const code of codes) state.selected.delete(code);
    const deleted = data.deleted;
    flash(() => (deleted === 1 ? t("delete.done1") : t("delete.done", { n: deleted })));
  } catch (error) {
    if (error instanceof ApiError && Array.isArray(error.body.missing)) {
      // Someone else deleted some of them first; nothing was deleted.
      for (const code of error.body.missing) state.selected.delete(code);
    }
    showError(error);
  }
  afterwards();
  casesChanged();
}
