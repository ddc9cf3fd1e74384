// The console's language: English or German (the texts are texts-en.js and
// texts-de.js), chosen once and remembered, and the functions that fill texts in.

import { DE } from "./texts-de.js";
import { EN } from "./texts-en.js";

const TEXTS = { en: EN, de: DE };

export const LANGS = ["en", "de"];
const STORE_KEY = "sosdesk.lang";
let current = initialLang();

function initialLang() {
  let saved = null;
  try { saved = localStorage.getItem(STORE_KEY); } catch { /* storage off */ }
  if (LANGS.includes(saved)) return saved;
  return (navigator.language || "en").toLowerCase().startsWith("de") ? "de" : "en";
}

export function lang() { return current; }

export function setLang(value) {
  if (!LANGS.includes(value)) return;
  current = value;
  try { localStorage.setItem(STORE_KEY, value); } catch { /* storage off */ }
}

/** The text for *key* in the current language, with {name} placeholders filled. */
export function t(key, vars = {}) {
  const text = TEXTS[current][key] ?? TEXTS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/** Fill every [data-i18n] element's text and [data-i18n-<attr>] attribute under *root*. */
export function translate(root = document) {
  document.documentElement.lang = current;
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const attr of ["aria-label", "placeholder", "title"]) {
    const data = "data-i18n-" + attr;
    for (const node of root.querySelectorAll(`[${data}]`)) node.setAttribute(attr, t(node.getAttribute(data)));
  }
}

export function formatTime(iso) {
  if (!iso) return t("none");
  return new Intl.DateTimeFormat(current === "de" ? "de-DE" : "en-GB",
    { dateStyle: "short", timeStyle: "short" }).format(new Date(iso));
}
