// Create a case by hand: the form (its draft kept in sessionStorage, so an
// ended login session loses nothing), the field errors, the code shown large.

import { api } from "./api.js";
import { $, el, showError, showFormError } from "./dom.js";
import { t } from "./i18n.js";
import { refreshQueue } from "./queue.js";
import { DRAFT_KEY, REOPEN_KEY, state } from "./state.js";

export async function loadExperts() {
  try {
    const data = await api("GET", "/experts");
    state.experts = data.experts;
  } catch (error) {
    showError(error);
  }
  fillAssignees();
}

export function fillAssignees() {
  const select = $("c-assignee");
  const value = select.value;
  select.replaceChildren(el("option", { value: "" }, t("create.unassigned")),
    ...state.experts.map((x) => el("option", { value: x.id }, x.name)));
  select.value = value;
}

const DRAFT_FIELDS = ["c-name", "c-email", "c-description", "c-group", "c-assignee", "c-validity"];

export function saveDraft() {
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

export function openCreate() {
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
  groupname: "c-group", groupid: "c-group", assigned_userid: "c-assignee", valid_until: "c-validity",
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
    groupname: $("c-group").value.trim() || "default", // made if it is new
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
    showFormError(error, FIELD_OF, "create-error");
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

export function wireCreate() {
  $("new-btn").addEventListener("click", openCreate);
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
}
