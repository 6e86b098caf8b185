// Configs of the current namespace: search (exact or fuzzy), paging, selection for
// export and clone, delete, and the way to each config's page.

import { apiUrl, del, get, post } from "../api.js";
import { go } from "../app.js";
import { confirmAction, currentNamespace, errorBox, field, h, modal, pager, render, table, toast } from "../ui.js";

const PAGE_SIZE = 10;

export default async function configs(main, params) {
  const tenant = currentNamespace();
  const query = {
    dataId: params.get("dataId") || "",
    group: params.get("group") || "",
    appName: params.get("appName") || "",
    config_tags: params.get("tags") || "",
    mode: params.get("mode") || "blur",
    pageNo: Number(params.get("pageNo") || 1),
  };
  const page = await get("/v1/cs/configs", {
    search: query.mode, dataId: query.dataId, group: query.group, appName: query.appName,
    config_tags: query.config_tags, tenant, pageNo: query.pageNo, pageSize: PAGE_SIZE,
  });
  const status = h("div", {});
  const selected = new Set();

  const input = (name, label, value) => field(label, h("input", { name, value, "data-testid": `search-${name}` }));
  const mode = h("select", { name: "mode", "aria-label": "Match" },
    h("option", { value: "blur", selected: query.mode === "blur" }, "fuzzy (contains, *)"),
    h("option", { value: "accurate", selected: query.mode === "accurate" }, "exact"));
  const search = h("form", { class: "toolbar", role: "search", onsubmit: (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    go("configs", { dataId: form.get("dataId"), group: form.get("group"), appName: form.get("appName"), tags: form.get("tags"), mode: form.get("mode") });
  } }, input("dataId", "Data ID", query.dataId), input("group", "Group", query.group), input("appName", "App", query.appName),
  input("tags", "Tags", query.config_tags), field("Match", mode), h("button", { type: "submit" }, "Search"));

  const remove = async (item) => {
    if (!(await confirmAction(`Delete config ${item.dataId} (group ${item.group})? Its history stays.`))) return;
    try {
      await del("/v1/cs/configs", { dataId: item.dataId, group: item.group, tenant });
      toast(`Deleted ${item.dataId}`);
      await configs(main, params);
    } catch (err) {
      render(status, errorBox(err));
    }
  };
  const exportSelected = () => {
    if (!selected.size) return render(status, h("div", { class: "notice" }, "Select configs to export first."));
    window.location.href = apiUrl("/v1/cs/configs", { exportV2: "true", tenant, ids: [...selected].join(",") });
  };
  const cloneSelected = async () => {
    if (!selected.size) return render(status, h("div", { class: "notice" }, "Select configs to clone first."));
    const namespaces = (await get("/v1/console/namespaces")).data;
    const target = h("select", { "aria-label": "Target namespace" }, namespaces.map((ns) => h("option", { value: ns.namespace }, ns.namespaceShowName || "public")));
    const policy = h("select", { "aria-label": "When a config exists" },
      h("option", { value: "ABORT" }, "abort: clone nothing"), h("option", { value: "SKIP" }, "skip it"), h("option", { value: "OVERWRITE" }, "overwrite it"));
    const answer = await modal((close) => h("form", { onsubmit: async (event) => {
      event.preventDefault();
      const body = JSON.stringify([...selected].map((id) => ({ cfgId: id, dataId: "", group: "" })));
      try {
        const params = { clone: "true", tenant: target.value, policy: policy.value };
        close(await post("/v1/cs/configs", params, { body, headers: { "Content-Type": "application/json" } }));
      } catch (err) {
        event.target.append(errorBox(err));
      }
    } }, h("h2", {}, `Clone ${selected.size} config(s)`), field("Into namespace", target), field("When a config exists", policy),
    h("div", { class: "actions" }, h("button", { class: "primary", type: "submit" }, "Clone"), h("button", { type: "button", onclick: () => close(null) }, "Cancel"))));
    if (answer) render(status, transferReport(answer));
  };

  const rows = table([
    { title: h("span", { class: "muted" }, "Select"), cell: (item) => h("input", { type: "checkbox", "aria-label": `Select ${item.dataId}`, onchange: (event) => event.target.checked ? selected.add(item.id) : selected.delete(item.id) }) },
    { title: "Data ID", cell: (item) => h("a", { href: `#/config?${new URLSearchParams({ dataId: item.dataId, group: item.group })}` }, item.dataId) },
    { title: "Group", cell: (item) => item.group },
    { title: "Type", cell: (item) => item.type, optional: true },
    { title: "App", cell: (item) => item.appName || "", optional: true },
    { title: "", cell: (item) => h("div", { class: "actions" },
      h("button", { onclick: () => go("config", { dataId: item.dataId, group: item.group }) }, "Edit"),
      h("button", { onclick: () => go("history", { dataId: item.dataId, group: item.group }) }, "History"),
      h("button", { onclick: () => go("listeners", { dataId: item.dataId, group: item.group }) }, "Listeners"),
      h("button", { class: "danger", onclick: () => remove(item) }, "Delete")) },
  ], page.pageItems, query.dataId || query.group || query.appName || query.config_tags ? "No config matches the search." : "No configs in this namespace yet. Create one, or import an archive.");
  render(main, h("h1", {}, "Configs"),
    h("div", { class: "toolbar" },
      h("button", { class: "primary", onclick: () => go("config", { create: "1" }) }, "Create config"),
      h("button", { onclick: exportSelected }, "Export selected"),
      h("button", { onclick: cloneSelected }, "Clone selected…"),
      h("a", { class: "button", href: "#/transfer" }, "Import / export all")),
    search, status, rows,
    pager(query.pageNo, PAGE_SIZE, page.totalCount, (pageNo) => go("configs", { ...Object.fromEntries(params), pageNo })));
}

/** An import's or a clone's answer: what was added, skipped, refused and not understood. */
export function transferReport(answer) {
  if (answer.code !== 200) return h("div", { class: "error", role: "alert" }, `Refused (${answer.code}): ${answer.message}. Nothing was written.`);
  const data = answer.data || {};
  const keys = (items) => (items || []).map((item) => `${item.group}/${item.dataId}`).join(", ");
  return h("div", { class: "card", "data-testid": "transfer-report" },
    h("p", {}, h("strong", {}, `${data.succCount} added or updated`), `, ${data.skipCount || 0} skipped`),
    data.failData ? h("p", {}, `Refused (they exist; nothing was written): ${keys(data.failData)}`) : null,
    data.skipData ? h("p", {}, `Skipped: ${keys(data.skipData)}`) : null,
    data.unrecognizedData ? h("p", {}, `Not understood: ${data.unrecognizedData.map((item) => item.itemName).join(", ")}`) : null);
}
