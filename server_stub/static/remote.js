// The session view: the customer's screen live on a canvas, the chat, control
// (request / release), the monitor picker, Disconnect and Close case, and a
// status line with frames per second, delay and bandwidth. One long-poll of
// /sessions/{code}/remote brings the picture, the session's state and events.

import { api, apiBinary, ApiError, query } from "./api.js";
import { ChatPanel } from "./chat.js";
import { $, confirmDialog, flash, showError, sleep } from "./dom.js";
import { t } from "./i18n.js";
import { onLeave, showView } from "./nav.js";
import { RemoteInput } from "./remote-input.js";
import { readFrame, Screen } from "./screen.js";
import { state } from "./state.js";

const POLL_WAIT = 10; // seconds the server may hold the long-poll
const path = (code, rest = "") => `/sessions/${encodeURIComponent(code)}${rest}`;

const view = {
  code: null, gen: 0, abort: null, sinceFrame: 0, sinceEvent: 0,
  session: null, case: null, ended: false, left: false, stoppedBy: "", offline: false,
  stats: { frames: [], bytes: [], delay: null },
};
let screen = null;
let input = null;
let chat = null;

// -- opening and leaving --------------------------------------------------------------------

/** Show the session of case *code* (the expert is connected to it). */
export async function openSession(code) {
  stopLoop();
  Object.assign(view, {
    code, sinceFrame: 0, sinceEvent: 0, session: null, case: null, ended: false, left: false,
    stoppedBy: "", offline: false, stats: { frames: [], bytes: [], delay: null },
  });
  state.sessionCode = code;
  $("session-flash").textContent = "";
  screen.clear();
  input.enable(false);
  chat.set([]);
  heading();
  render();
  showView("session");
  $("screen").focus({ preventScroll: true });
  loadCase();
  loadChat();
  startLoop();
}

async function loadCase() {
  try {
    const c = await api("GET", path(view.code));
    view.case = c;
    heading();
    render();
  } catch (error) {
    showError(error, "session-flash");
  }
}

function heading() {
  const c = view.case;
  const who = c ? (c.end_customer && c.end_customer.name) || (c.device && c.device.user) || "" : "";
  const device = c && c.device && c.device.hostname ? ` (${c.device.hostname})` : "";
  $("session-heading").textContent = who
    ? t("session.headingWho", { code: view.code, who: who + device }) : t("session.heading", { code: view.code });
}

async function loadChat() {
  try {
    const data = await api("GET", path(view.code, "/chat"));
    chat.add(data.messages);
  } catch (error) {
    showError(error, "session-flash");
  }
}

function stopLoop() {
  view.gen++;
  if (view.abort) view.abort.abort();
  view.abort = null;
}

function startLoop() {
  stopLoop();
  const gen = ++view.gen;
  view.abort = new AbortController();
  pollLoop(gen, view.abort.signal, view.code);
}

// -- the long-poll ------------------------------------------------------------------------------

async function pollLoop(gen, signal, code) {
  let failures = 0;
  while (gen === view.gen) {
    try {
      const buffer = await apiBinary(path(code, "/remote") + query({
        since_frame: view.sinceFrame, since_event: view.sinceEvent, wait: POLL_WAIT,
      }), { signal });
      if (gen !== view.gen) return;
      failures = 0;
      view.offline = false;
      const { header, tiles } = readFrame(buffer);
      const first = view.sinceEvent === 0; // the events kept from before: history, not news
      view.sinceFrame = header.seq;
      view.sinceEvent = header.event_seq;
      const before = view.session;
      view.session = header.session;
      handleEvents(header.events, first);
      if (before && before.view !== "none" && before.view !== "denied" && header.session.view === "none"
          && !header.events.some((e) => e.type === "session_stopped")) {
        view.stoppedBy = "server"; // ended without a word: the server restarted (its sessions are memory)
      }
      const received = performance.now();
      await screen.draw(header, tiles);
      if (tiles.length) countFrame(buffer.byteLength, header.stats.age_ms, performance.now() - received);
      input.enable(view.session.control === "allowed" && !view.ended);
      render();
      if (view.session.ended) return endView();
    } catch (error) {
      if (gen !== view.gen || (error && error.name === "AbortError")) return;
      if (error instanceof ApiError) {
        if (error.status === 401) return;
        if (error.code === "case_closed" || error.code === "case_expired" || error.status === 404) return endView();
        showError(error, "session-flash");
        return; // not ours (403), not connected (409): nothing to retry
      }
      view.offline = true;
      render();
      failures++;
      await sleep(Math.min(5000, 500 * failures));
    }
  }
}

function handleEvents(events, first) {
  for (const event of events) {
    if (event.type === "chat") chat.add([event.message]);
    else if (event.type === "session_stopped") view.stoppedBy = event.by || "";
    else if (event.type === "session_requested" || event.type === "session_allowed") view.stoppedBy = "";
    else if (first) continue;
    else if (event.type === "control_denied") flash(() => t("session.controlDenied"), "error", "session-flash");
    else if (event.type === "control_stopped") flash(() => t("session.controlStopped"), "error", "session-flash");
  }
}

function endView() {
  view.ended = true;
  stopLoop();
  input.enable(false);
  screen.clear();
  render();
}

// -- the status line --------------------------------------------------------------------------

function countFrame(bytes, ageMs, decodeMs) {
  const now = performance.now();
  const s = view.stats;
  s.frames.push(now);
  s.bytes.push([now, bytes]);
  while (s.frames.length && now - s.frames[0] > 2000) s.frames.shift();
  while (s.bytes.length && now - s.bytes[0][0] > 2000) s.bytes.shift();
  // The delay shown: how long the newest picture waited in the server, plus decoding it.
  s.delay = Math.round((ageMs || 0) + decodeMs);
}

function statusText() {
  const s = view.session;
  if (view.ended) return ["ended", t("session.ended")];
  if (view.left) return ["left", t("session.youLeft")];
  if (!s) return ["connecting", t("session.connecting")];
  if (view.offline) return ["reconnecting", t("session.reconnecting")];
  if (s.wayland) return ["wayland", t("session.wayland")];
  if (s.view === "none" && view.stoppedBy === "customer") return ["stopped", t("session.customerStopped")];
  if (s.view === "none" && view.stoppedBy === "agent") return ["gone", t("session.customerLeft")];
  if (s.view === "none" && view.stoppedBy === "server") return ["stopped", t("session.interrupted")];
  if (!s.agent_online) return ["gone", s.view === "requested" ? t("session.waitingOffline") : t("session.customerLeft")];
  if (s.view === "requested") return ["waiting", t("session.waiting")];
  if (s.view === "denied") return ["denied", t("session.denied")];
  if (s.view === "none") return ["idle", t("session.notViewing")];
  if (s.control === "allowed") return ["controlling", t("session.controlling")];
  if (s.control === "requested") return ["viewing", t("session.waitingControl")];
  return ["viewing", t("session.viewing")];
}

function render() {
  const [key, text] = statusText();
  const status = $("session-status");
  status.textContent = text;
  status.dataset.state = key;
  const s = view.session;
  const viewing = s && s.view === "allowed" && !view.ended && !view.left;
  const st = view.stats;
  $("session-stats").textContent = viewing && st.frames.length ? t("session.stats", {
    fps: (st.frames.length / 2).toFixed(st.frames.length < 20 ? 1 : 0),
    ms: st.delay ?? "–",
    kb: Math.round(st.bytes.reduce((sum, [, n]) => sum + n, 0) / 2 / 1024),
  }) : "";
  const control = $("session-control");
  const controlling = s && (s.control === "allowed" || s.control === "requested");
  control.textContent = controlling ? t("session.releaseControl") : t("session.requestControl");
  control.disabled = !viewing;
  control.dataset.request = controlling ? "false" : "true";
  $("session-ask").hidden = view.ended || !(view.left || (s && (s.view === "denied" || s.view === "none")));
  $("session-disconnect").disabled = view.ended || view.left;
  $("session-close").disabled = view.ended;
  const monitors = (s && s.monitors) || [];
  $("session-monitor-label").hidden = !viewing || monitors.length < 2;
  const select = $("session-monitor");
  if (select.options.length !== monitors.length || [...select.options].some((o, n) => o.value !== String(monitors[n].index))) {
    select.replaceChildren(...monitors.map((m, n) => new Option(
      t("session.monitorName", { n: n + 1, w: m.width, h: m.height }), String(m.index))));
  }
  if (s) select.value = String(s.monitor);
  const empty = $("screen-empty");
  empty.hidden = Boolean(viewing && screen.hasPicture);
  empty.textContent = viewing ? t("session.loading") : text;
  $("screen").classList.toggle("hidden-canvas", !screen.hasPicture);
}

// -- the buttons ----------------------------------------------------------------------------

async function act(run) {
  try {
    await run();
  } catch (error) {
    showError(error, "session-flash");
  }
  render();
}

function toggleControl() {
  const request = $("session-control").dataset.request === "true";
  return act(async () => {
    const data = await api("POST", path(view.code, "/remote/control"), { request });
    view.session = { ...view.session, ...data.session };
    input.enable(view.session.control === "allowed");
  });
}

function askAgain() {
  return act(async () => {
    await api("POST", path(view.code, "/connect"));
    view.left = false;
    view.stoppedBy = "";
    startLoop();
  });
}

function disconnect() {
  return act(async () => {
    stopLoop();
    input.enable(false);
    await api("POST", path(view.code, "/remote/disconnect"));
    view.left = true;
    screen.clear();
  });
}

async function closeCase() {
  const ok = await confirmDialog({ title: t("close.heading"), text: t("close.text", { code: view.code }), ok: t("close.confirm") });
  if (!ok) return;
  const code = view.code;
  await act(async () => {
    await api("PUT", path(code), { state: "closed" });
    flash(() => t("close.done", { code }), "ok", "session-flash");
    endView();
  });
}

function changeMonitor(event) {
  return act(() => api("POST", path(view.code, "/remote/monitor"), { index: Number(event.target.value) }));
}

function toggleScale() {
  const actual = $("session-scale").getAttribute("aria-pressed") !== "true";
  $("session-scale").setAttribute("aria-pressed", String(actual));
  screen.setFit(!actual);
}

/** Show the session view again in the current language. */
export function renderSession() {
  if (!view.code) return;
  heading();
  chat.render();
  render();
}

export function wireRemote() {
  screen = new Screen($("screen"), $("screen-cursor"), $("screen-wrap"));
  input = new RemoteInput($("screen"), screen, (events) => api("POST", path(view.code, "/remote/input"), { events }));
  input.onError = (error) => {
    if (error instanceof ApiError && error.code === "no_control") input.enable(false);
    else showError(error, "session-flash");
  };
  chat = new ChatPanel({
    list: $("session-chat-list"), form: $("session-chat-form"), input: $("session-chat-input"),
    error: $("session-chat-error"), send: (text) => api("POST", path(view.code, "/chat"), { text }),
  });
  $("session-back").addEventListener("click", () => showView("queue"));
  $("session-control").addEventListener("click", toggleControl);
  $("session-ask").addEventListener("click", askAgain);
  $("session-disconnect").addEventListener("click", disconnect);
  $("session-close").addEventListener("click", closeCase);
  $("session-monitor").addEventListener("change", changeMonitor);
  $("session-scale").addEventListener("click", toggleScale);
  onLeave("session", () => { stopLoop(); input.enable(false); state.sessionCode = null; });
  setInterval(() => { if (view.code && state.view === "session") render(); }, 1000);
}
