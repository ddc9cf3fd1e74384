// Live updates: a long-poll of /changes; on each new version everything
// shown is loaded again.

import { api, ApiError, query } from "./api.js";
import { loadDetail } from "./detail.js";
import { $, showError, sleep } from "./dom.js";
import { t } from "./i18n.js";
import { loadGroups, loadModules } from "./modules.js";
import { refreshQueue } from "./queue.js";
import { checkNewSos } from "./sos-alerts.js";
import { state } from "./state.js";

const POLL_WAIT = 25; // seconds the server may hold /changes

export function startPolling() {
  stopPolling();
  const gen = ++state.pollGen;
  state.pollAbort = new AbortController();
  pollLoop(gen, state.pollAbort.signal);
}

export function stopPolling() {
  state.pollGen++;
  if (state.pollAbort) state.pollAbort.abort();
  state.pollAbort = null;
}

export function setLive(ok) {
  const live = $("live");
  live.hidden = false;
  live.dataset.ok = ok ? "1" : "0";
  live.textContent = ok ? t("queue.live") : t("queue.offline");
}

async function pollLoop(gen, signal) {
  let since = -1; // the first call answers at once with the current version
  let failures = 0;
  while (gen === state.pollGen) {
    try {
      const wait = since === -1 ? 0 : POLL_WAIT;
      const data = await api("GET", "/changes" + query({ since, wait }), undefined, { signal });
      if (gen !== state.pollGen) return;
      failures = 0;
      setLive(true);
      if (data.version !== since) {
        since = data.version;
        await refreshAll();
      }
    } catch (error) {
      if (gen !== state.pollGen || (error && error.name === "AbortError")) return;
      if (error instanceof ApiError && error.status === 401) return; // sessionEnded ran
      setLive(false);
      failures++;
      await sleep(Math.min(10000, 1000 * failures));
      since = -1; // the server may have restarted: load everything again
    }
  }
}

async function refreshAll() {
  const jobs = [refreshQueue(), checkNewSos(), loadGroups()];
  if (state.view === "modules") jobs.push(loadModules());
  if (state.detailCode && $("detail-dialog").open) jobs.push(loadDetail(state.detailCode));
  const results = await Promise.allSettled(jobs);
  for (const result of results) {
    if (result.status === "rejected") { showError(result.reason); break; }
  }
}
