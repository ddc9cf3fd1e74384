// Log-in, log-out and an ended login session (back to the log-in, keeping
// what was typed in the create form).

import { api, ApiError, onUnauthorized, setCsrf } from "./api.js";
import { loadExperts, openCreate, saveDraft } from "./create.js";
import { $, errorText } from "./dom.js";
import { t } from "./i18n.js";
import { startPolling, stopPolling } from "./live.js";
import { loggedInNow, showView } from "./nav.js";
import { updateBadge, updateNotifyButton } from "./sos-alerts.js";
import { updateSoundButton } from "./sound.js";
import { DRAFT_KEY, REOPEN_KEY, state } from "./state.js";

export function showLogin(notice) {
  state.me = null;
  setCsrf(null);
  $("boot").hidden = true;
  if (state.view === "session") showView("queue"); // leaves the remote session's view
  for (const id of ["nav", "who", "logout-btn", "live", "notify-btn", "sound-btn", "sos-badge", "queue-view",
    "modules-view", "session-view"]) {
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

export async function loggedIn(data) {
  state.me = data.expert;
  setCsrf(data.csrf_token);
  $("boot").hidden = true;
  $("login-view").hidden = true;
  $("login-notice").hidden = true;
  $("nav").hidden = false;
  $("who").hidden = false;
  $("who").textContent = state.me.name;
  $("who").title = t("user.as", { name: state.me.name });
  $("logout-btn").hidden = false;
  updateNotifyButton();
  updateSoundButton(true);
  showView(state.view);
  startPolling();
  loadExperts();
  if (sessionStorage.getItem(REOPEN_KEY) === "1") openCreate();
  loggedInNow();
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

export function wireSession() {
  $("login-form").addEventListener("submit", login);
  $("logout-btn").addEventListener("click", logout);
  onUnauthorized(sessionEnded);
}
