// The expert console: log-in, the live queue (search, sort, pages), cases by
// hand, editing and assigning, bulk delete, Connect/Close, the remote session
// (screen, control, chat), a case's history and pre-chat, modules and groups.
//
// One module per view (session, queue with queue-row and case-actions, remote,
// detail, edit, create, modules, live, sos-alerts with sound, nav) over shared
// helpers (dom, state, case-text, refresh, api, i18n, screen, remote-input, chat);
// this entry point wires them, follows the language switch and starts.
// Plain ES modules the browser loads itself: no build step.
//
// Safety rule, in every module: data from cases is only ever inserted as text
// (el() makes text nodes, textContent elsewhere); nothing assigns HTML.

import { api, ApiError } from "./api.js";
import { fillAssignees, wireCreate } from "./create.js";
import { loadDetail, openDetail, wireDetail } from "./detail.js";
import { $, errorText, retranslateFlashes, showError } from "./dom.js";
import { wireEdit } from "./edit.js";
import { lang, setLang, t, translate } from "./i18n.js";
import { setLive } from "./live.js";
import { loadModules, renderGroups } from "./modules.js";
import { afterLogin, takeLinkedCase, wireNav } from "./nav.js";
import { renderQueue, wireQueue } from "./queue.js";
import { renderSession, wireRemote } from "./remote.js";
import { loggedIn, showLogin, wireSession } from "./session.js";
import { updateBadge, updateNotifyButton, wireSosAlerts } from "./sos-alerts.js";
import { wireSound } from "./sound.js";
import { REOPEN_KEY, state } from "./state.js";

// -- language --------------------------------------------------------------------------

function applyLanguage() {
  translate();
  $("lang-select").value = lang();
  if (state.me) {
    $("who").textContent = state.me.name;
    $("who").title = t("user.as", { name: state.me.name });
  }
  retranslateFlashes();
  if ($("live").dataset.ok) setLive($("live").dataset.ok === "1");
  updateBadge();
  updateNotifyButton();
  fillAssignees();
  if (state.me) {
    renderQueue();
    renderGroups();
    renderSession();
    if (state.view === "modules") loadModules();
    if ($("detail-dialog").open && state.detailCode) loadDetail(state.detailCode).catch(showError);
  }
  if (!$("login-notice").hidden && $("login-notice").textContent) $("login-notice").textContent = t("login.expired");
}

// -- start -----------------------------------------------------------------------------

function wire() {
  wireSession();
  $("lang-select").addEventListener("change", (e) => { setLang(e.target.value); applyLanguage(); });
  wireNav();
  wireSosAlerts();
  wireQueue();
  wireCreate();
  wireDetail();
  wireRemote();
  wireEdit();
  wireSound();
  wireMenu();
  // A session's supporter_link opens the console at its case: its detail, once logged in.
  afterLogin(() => {
    const code = takeLinkedCase();
    if (code) openDetail(code);
  });
}

/** On a narrow screen the language, sound, notifications and log-out fold into a menu. */
function wireMenu() {
  const button = $("menu-btn");
  const close = () => { button.setAttribute("aria-expanded", "false"); document.body.classList.remove("menu-open"); };
  button.addEventListener("click", () => {
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    document.body.classList.toggle("menu-open", open);
  });
  document.addEventListener("keydown", (e) => { if (e.key === "Escape") close(); });
  $("top-menu").addEventListener("change", close);
  $("logout-btn").addEventListener("click", close);
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
