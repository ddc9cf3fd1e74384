// Edit a case: the customer's name and e-mail, the description, the group, who
// it is assigned to (assign, reassign, transfer to another expert) and how long
// it stays valid. Only what was changed is sent.

import { api } from "./api.js";
import { $, el, flash, showFormError } from "./dom.js";
import { formatTime, t } from "./i18n.js";
import { casesChanged } from "./refresh.js";
import { state } from "./state.js";

const FIELD_OF = {
  "end_customer.name": "e-name", "end_customer.email": "e-email", description: "e-description",
  groupid: "e-group", groupname: "e-group", assigned_userid: "e-assignee", valid_until: "e-validity",
};
/** Who has case *c*: an expert's id, or "" for nobody (the API's "u0", TeamViewer's form). */
const assignee = (c) => (c.assigned_userid && c.assigned_userid !== "u0" ? c.assigned_userid : "");
const HOURS = [1, 4, 24, 72, 168, 720];
let editing = null; // the case as it was when the dialog opened

function clearErrors() {
  $("edit-error").textContent = "";
  for (const node of document.querySelectorAll("#edit-form .field-error")) node.textContent = "";
  for (const node of document.querySelectorAll("#edit-form [aria-invalid]")) {
    node.removeAttribute("aria-invalid");
    node.removeAttribute("aria-describedby");
  }
}

function fillAssignees(c) {
  const options = [el("option", { value: "" }, t("create.unassigned")),
    ...state.experts.map((x) => el("option", { value: x.id }, state.me && x.id === state.me.id ? t("edit.me", { name: x.name }) : x.name))];
  if (assignee(c) && !state.experts.some((x) => x.id === c.assigned_userid)) {
    options.push(el("option", { value: c.assigned_userid }, c.assigned_name || c.assigned_userid));
  }
  $("e-assignee").replaceChildren(...options);
  $("e-assignee").value = assignee(c);
}

function fillValidity(c) {
  $("e-validity").replaceChildren(
    el("option", { value: "" }, t("edit.keepValidity", { at: formatTime(c.valid_until) })),
    ...HOURS.map((h) => el("option", { value: String(h) }, t("edit.validFor", { d: t(`validity.${h}h`) }))));
  $("e-validity").value = "";
}

export function openEdit(c) {
  editing = c;
  clearErrors();
  $("edit-heading").textContent = t("edit.heading", { code: c.code });
  $("e-name").value = (c.end_customer && c.end_customer.name) || "";
  $("e-email").value = (c.end_customer && c.end_customer.email) || "";
  $("e-description").value = c.description || "";
  $("e-group").value = c.groupname;
  fillAssignees(c);
  fillValidity(c);
  $("edit-dialog").showModal();
  $("e-name").focus();
}

/** The fields the expert changed, as the API names them. */
function changes() {
  const c = editing;
  const body = {};
  const name = $("e-name").value.trim();
  const email = $("e-email").value.trim();
  if (name !== (c.end_customer.name || "") || email !== (c.end_customer.email || "")) {
    body.end_customer = { name, email };
  }
  if ($("e-description").value !== (c.description || "")) body.description = $("e-description").value;
  const group = $("e-group").value.trim() || "default";
  if (group !== c.groupname) body.groupname = group; // made if it is new
  if ($("e-assignee").value !== assignee(c)) body.assigned_userid = $("e-assignee").value || null;
  const hours = Number($("e-validity").value);
  if (hours) {
    // 30 days is the server's limit: stay a minute inside it.
    const until = new Date(Date.now() + hours * 3600 * 1000 - (hours >= 720 ? 60000 : 0));
    body.valid_until = until.toISOString().replace(/\.\d{3}Z$/, "Z");
  }
  return body;
}

async function save(event) {
  event.preventDefault();
  clearErrors();
  const body = changes();
  if (!Object.keys(body).length) { $("edit-dialog").close(); return; }
  const button = $("edit-submit");
  button.disabled = true;
  try {
    const { code } = editing;
    await api("PUT", `/sessions/${encodeURIComponent(code)}`, body); // 204: TeamViewer's answer to a change
    $("edit-dialog").close("saved");
    flash(() => t("edit.saved", { code }));
    casesChanged();
  } catch (error) {
    showFormError(error, FIELD_OF, "edit-error");
  } finally {
    button.disabled = false;
  }
}

export function wireEdit() {
  $("edit-form").addEventListener("submit", save);
  $("edit-cancel").addEventListener("click", () => $("edit-dialog").close("cancel"));
}
