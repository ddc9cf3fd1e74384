// Small DOM helpers shared by the views: elements built from text (never
// HTML), flash messages, errors, the confirmation dialog.

import { ApiError } from "./api.js";
import { t } from "./i18n.js";

export const $ = (id) => document.getElementById(id);

/** An element; string children become text nodes (never HTML). */
export function el(tag, attrs = {}, ...children) {
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

/**
 * A message in a flash line: *message* is a text, or a function that words it in the
 * current language, so that a language switch words it again (retranslateFlashes).
 */
export function flash(message, kind = "ok", target = "flash") {
  const node = $(target);
  node._message = message;
  node.textContent = typeof message === "function" ? message() : message;
  node.className = "flash " + kind;
  clearTimeout(node._timer);
  node._timer = setTimeout(() => { node.textContent = ""; node._message = null; node.className = "flash"; }, 8000);
}

/** Word every flash line that is showing again, in the language now chosen. */
export function retranslateFlashes() {
  for (const node of document.querySelectorAll(".flash")) {
    if (typeof node._message === "function" && node.textContent) node.textContent = node._message();
  }
}

/** The API's stable error codes the console words itself (the server's messages are English). */
const WORDED = ["already_connected", "case_closed", "case_expired", "case_not_found", "not_your_session",
  "not_connected", "too_many_requests", "storage_unavailable", "server_busy", "expert_not_found"];

export function errorText(error) {
  if (error instanceof ApiError && WORDED.includes(error.code)) return t("apiError." + error.code);
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError) return t("error.network");
  return String(error && error.message ? error.message : error);
}

export function showError(error, target = "flash") {
  if (error instanceof ApiError && error.status === 401) return; // back to log-in already
  flash(() => t("error.generic", { m: errorText(error) }), "error", target);
}

/** A form's request failed: mark each field the server named (its input and the
 *  message under it, *fieldOf* maps the API's field to the input's id) and focus the
 *  first, and say so in *summaryId*; any other error is said there as it is. */
export function showFormError(error, fieldOf, summaryId) {
  if (error instanceof ApiError && error.status === 401) return; // back to log-in already
  if (!(error instanceof ApiError && error.body.fields)) {
    $(summaryId).textContent = t("error.generic", { m: errorText(error) });
    return;
  }
  let first = null;
  for (const [field, message] of Object.entries(error.body.fields)) {
    const id = fieldOf[field];
    if (!id) continue;
    const input = $(id);
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", id + "-error");
    $(id + "-error").textContent = message;
    first = first || input;
  }
  $(summaryId).textContent = t("error.fields");
  if (first) first.focus();
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Ask before doing something: resolves true for OK. *items*: lines listed under the text. */
export function confirmDialog({ title, text, ok, items = [] }) {
  const dialog = $("confirm-dialog");
  $("confirm-heading").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-list").replaceChildren(...items.map((item) => el("li", {}, item)));
  $("confirm-list").hidden = items.length === 0;
  $("confirm-ok").textContent = ok;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
    $("confirm-cancel").focus();
  });
}
