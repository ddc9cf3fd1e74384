// Modules and groups: the QuickSupport modules (revoke one after a
// confirmation) and the groups, each a way into its queue.

import { api } from "./api.js";
import { $, confirmDialog, el, flash, showError } from "./dom.js";
import { formatTime, t } from "./i18n.js";
import { showView, whenShown } from "./nav.js";
import { showFiltered } from "./queue.js";
import { state } from "./state.js";

export async function loadModules() {
  let data;
  try {
    data = await api("GET", "/modules");
  } catch (error) {
    showError(error, "modules-flash");
    return;
  }
  $("modules-body").replaceChildren(...data.modules.map((m) => el("tr", { dataset: { module: m.module_id } },
    el("td", { "data-label": t("modules.name"), class: "strong" }, m.name),
    el("td", { "data-label": t("modules.id") }, el("code", {}, m.module_id)),
    el("td", { "data-label": t("modules.group") }, m.groupname),
    el("td", { "data-label": t("modules.created") }, formatTime(m.created_at)),
    el("td", { "data-label": t("modules.state") },
      m.active ? el("span", { class: "status status-in_progress" }, t("modules.active"))
        : el("span", { class: "status status-closed" }, t("modules.revoked", { at: formatTime(m.revoked_at) }))),
    el("td", { "data-label": t("col.actions") },
      m.active ? el("button", {
        type: "button", class: "small danger", "aria-label": t("modules.revokeOf", { name: m.name }),
        onclick: () => revokeModule(m),
      }, t("modules.revoke")) : null),
  )));
  state.modules = new Map(data.modules.map((m) => [m.module_id, m.name]));
  $("modules-empty").hidden = data.modules.length > 0;
  $("modules").classList.toggle("is-empty", data.modules.length === 0);
  loadGroups().catch(() => {});
}

async function revokeModule(m) {
  const ok = await confirmDialog({
    title: t("revoke.heading"), text: t("revoke.text", { name: m.name, id: m.module_id }), ok: t("revoke.confirm"),
  });
  if (!ok) return;
  try {
    await api("DELETE", `/modules/${encodeURIComponent(m.module_id)}`);
    flash(() => t("revoke.done", { name: m.name }), "ok", "modules-flash");
  } catch (error) {
    showError(error, "modules-flash");
  }
  await loadModules();
}

// A group is {id: "g12", name} (TeamViewer's form): the queue filters by id, people read names.
export function renderGroups() {
  $("groups-list").replaceChildren(...state.groups.map((g) => el("li", {},
    el("button", {
      type: "button", class: "chip", "aria-label": t("groups.show", { g: g.name }),
      onclick: () => {
        showView("queue");
        showFiltered({ status: "open", groupid: g.id });
      },
    }, g.name))));
}

export async function loadGroups() {
  const data = await api("GET", "/groups");
  state.groups = data.groups;
  const select = $("filter-group");
  const value = select.value;
  select.replaceChildren(el("option", { value: "", "data-i18n": "filter.allGroups" }, t("filter.allGroups")),
    ...state.groups.map((g) => el("option", { value: g.id }, g.name)));
  if (value && !state.groups.some((g) => g.id === value)) select.append(el("option", { value }, value));
  select.value = value;
  $("group-options").replaceChildren(...state.groups.map((g) => el("option", { value: g.name })));
  renderGroups();
}

whenShown("modules", loadModules);
