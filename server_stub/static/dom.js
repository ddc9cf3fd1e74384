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

export function flash(text, kind = "ok", target = "flash") {
  const node = $(target);
  node.textContent = text;
  node.className = "flash " + kind;
  clearTimeout(node._timer);
  node._timer = setTimeout(() => { node.textContent = ""; node.className = "flash"; }, 8000);
}

export function errorText(error) {
  if (error instanceof ApiError) return error.message;
  if (error instanceof TypeError) return t("error.network");
  return String(error && error.message ? error.message : error);
}

export function showError(error, target = "flash") {
  if (error instanceof ApiError && error.status === 401) return; // back to log-in already
  flash(t("error.generic", { m: errorText(error) }), "error", target);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function confirmDialog({ title, text, ok }) {
  const dialog = $("confirm-dialog");
  $("confirm-heading").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-ok").textContent = ok;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
    $("confirm-cancel").focus();
  });
}
