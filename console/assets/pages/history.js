// A config's history: the list of changes, a record's content, its diff against the
// current version, and rollback (undoing that change, as Nacos's console does).

import { del, get, post } from "../api.js";
import { go } from "../app.js";
import { diffView } from "../diff.js";
import { codeView } from "../highlight.js";
import { confirmAction, currentNamespace, errorBox, field, h, pager, render, table, toast, when } from "../ui.js";

const PAGE_SIZE = 10;
const OPS = { I: "created", U: "updated", D: "deleted" };

export default async function history(main, params) {
  const tenant = currentNamespace();
  const dataId = params.get("dataId") || "";
  const group = params.get("group") || "";
  const pick = h("form", { class: "toolbar", onsubmit: (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    go("history", { dataId: form.get("dataId"), group: form.get("group") || "DEFAULT_GROUP" });
  } }, field("Data ID", h("input", { name: "dataId", value: dataId, required: true })), field("Group", h("input", { name: "group", value: group || "DEFAULT_GROUP" })), h("button", { type: "submit" }, "Show history"));
  if (!dataId) {
    render(main, h("h1", {}, "History"), pick, h("div", { class: "card empty" }, "Choose a config to see its changes."));
    return;
  }
  const pageNo = Number(params.get("pageNo") || 1);
  const nid = params.get("nid");
  const page = await get("/v1/cs/history", { search: "accurate", dataId, group, tenant, pageNo, pageSize: PAGE_SIZE });
  const rows = table([
    { title: "Changed", cell: (item) => when(item.lastModifiedTime) },
    { title: "Operation", cell: (item) => OPS[item.opType] || item.opType },
    { title: "By", cell: (item) => item.srcUser || item.srcIp || "", optional: true },
    { title: "", cell: (item) => h("button", { onclick: () => go("history", { dataId, group, pageNo, nid: item.id }) }, "View") },
  ], page.pageItems, "No history for this config (it is kept for 30 days).");
  const parts = [h("h1", {}, `History of ${dataId}`), pick, rows, pager(pageNo, PAGE_SIZE, page.totalCount, (next) => go("history", { dataId, group, pageNo: next }))];
  if (nid) parts.push(await recordView(nid, dataId, group, tenant, main, params));
  render(main, ...parts);
}

async function recordView(nid, dataId, group, tenant, main, params) {
  const record = await get("/v1/cs/history", { nid, dataId, group, tenant });
  const found = await get("/v1/cs/configs", { search: "accurate", dataId, group, tenant, pageNo: 1, pageSize: 1 });
  const current = found.pageItems[0] || null;
  const status = h("div", {});
  const rollback = async () => {
    const undoCreate = record.opType === "I";
    const question = undoCreate ? "This change created the config: rolling it back deletes the config. Go on?" : "Publish this record's content as the config's current version?";
    if (!(await confirmAction(question, "Roll back"))) return;
    try {
      if (undoCreate) {
        await del("/v1/cs/configs", { dataId, group, tenant });
      } else {
        const ext = JSON.parse(record.extInfo || "{}");
        await post("/v1/cs/configs", { dataId, group, tenant, content: record.content, appName: record.appName, type: ext.type || record.type,
          config_tags: ext.config_tags, desc: ext.c_desc, use: ext.c_use, effect: ext.effect, schema: ext.c_schema });
      }
      toast("Rolled back");
      await history(main, new URLSearchParams({ dataId, group }));
    } catch (err) {
      render(status, errorBox(err));
    }
  };
  return h("section", { class: "card", "data-testid": "history-record" },
    h("h2", {}, `Record ${record.id}: ${OPS[record.opType] || record.opType} at ${when(record.lastModifiedTime)}`),
    h("p", { class: "muted" }, record.opType === "I" ? "The content it created:" : "The content before this change:"),
    codeView(record.content, record.type),
    h("h2", {}, "Against the current version"),
    current ? diffView(current.content, record.content, { beforeLabel: "current", afterLabel: "this record" }) : h("p", { class: "muted" }, "The config does not exist now."),
    status,
    h("div", { class: "actions", style: "margin-top:10px" }, h("button", { class: "primary", onclick: rollback, "data-testid": "rollback" }, "Roll back to this")));
}
