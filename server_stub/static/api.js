// The console's HTTP client: JSON in and out, the login cookie (sent by the
// browser), the CSRF token on every mutating request, and one place that
// notices an ended login session.

/**
 * An error answer. Its two shapes read the same here: sosdesk's own routes say
 * {error, message}; TeamViewer's (/sessions and one session, /ping, /account,
 * /users, /groups) say {error, error_description, error_code} with sosdesk's
 * stable code in sosdesk_error. `code` is always sosdesk's stable code.
 */
export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.message || body.error_description)) || `HTTP ${status}`);
    this.status = status;
    this.code = (body && (body.sosdesk_error || body.error)) || "http_error";
    this.body = body || {};
  }
}

let csrfToken = null;
let onSessionEnded = () => {};

export function setCsrf(token) { csrfToken = token; }

/** *handler(error)* runs when the server says the login session is gone (401). */
export function onUnauthorized(handler) { onSessionEnded = handler; }

/**
 * Call the API. Resolves to the parsed JSON; rejects with ApiError (or a
 * TypeError for network failures, or an AbortError).
 */
export async function api(method, path, body, { signal, quiet401 = false } = {}) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin", cache: "no-store", signal };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (method !== "GET" && method !== "HEAD" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  const response = await fetch("/api/v1" + path, init);
  let data = null;
  const text = await response.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = { message: text.slice(0, 200) }; }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    error.retryAfter = Number(response.headers.get("Retry-After")) || 0;
    if (response.status === 401 && !quiet401 && path !== "/login") onSessionEnded(error);
    throw error;
  }
  return data;
}

/**
 * GET a binary answer (the remote session's FRAME): resolves to an ArrayBuffer;
 * rejects with ApiError for an error answer (its body is JSON), as api() does.
 */
export async function apiBinary(path, { signal } = {}) {
  const response = await fetch("/api/v1" + path, {
    headers: { Accept: "application/octet-stream" }, credentials: "same-origin", cache: "no-store", signal,
  });
  if (!response.ok) {
    let data = null;
    try { data = await response.json(); } catch { data = null; }
    const error = new ApiError(response.status, data);
    if (response.status === 401) onSessionEnded(error);
    throw error;
  }
  return response.arrayBuffer();
}

/** A query string from an object, leaving out empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? "?" + text : "";
}
