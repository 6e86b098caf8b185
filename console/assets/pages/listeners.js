// Who listens: the clients of one config (with their md5: up to date or stale), and the
// configs one client IP listens to.

import { get } from "../api.js";
import { go } from "../app.js";
import { currentNamespace, field, h, render, table } from "../ui.js";

export default async function listeners(main, params) {
  const tenant = currentNamespace();
  const dataId = params.get("dataId") || "";
  const group = params.get("group") || "DEFAULT_GROUP";
  const ip = params.get("ip") || "";
  const byConfig = h("form", { class: "toolbar", onsubmit: (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    go("listeners", { dataId: form.get("dataId"), group: form.get("group") });
  } }, field("Data ID", h("input", { name: "dataId", value: dataId, required: true })), field("Group", h("input", { name: "group", value: group })), h("button", { type: "submit" }, "Who listens to this config"));
  const byIp = h("form", { class: "toolbar", onsubmit: (event) => {
    event.preventDefault();
    go("listeners", { ip: new FormData(event.target).get("ip") });
  } }, field("Client IP", h("input", { name: "ip", value: ip, required: true })), h("button", { type: "submit" }, "What this IP listens to"));
  const parts = [h("h1", {}, "Listeners"), byConfig, byIp];
  if (dataId) {
    const status = await get("/v1/cs/configs/listener", { dataId, group, tenant });
    const found = await get("/v1/cs/configs", { search: "accurate", dataId, group, tenant, pageNo: 1, pageSize: 1 });
    const md5 = found.pageItems.length ? found.pageItems[0].md5 : "";
    const rows = Object.entries(status.lisentersGroupkeyStatus || {}).map(([client, clientMd5]) => ({ client, clientMd5 }));
    parts.push(h("h2", {}, `Clients listening to ${group}/${dataId}`), table([
      { title: "Client", cell: (row) => row.client },
      { title: "Their md5", cell: (row) => h("code", {}, row.clientMd5 || "(none)"), optional: true },
      { title: "State", cell: (row) => row.clientMd5 === md5 ? h("span", { class: "badge ok" }, "up to date") : h("span", { class: "badge warn" }, "stale") },
    ], rows, "No client listens to this config."));
  }
  if (ip) {
    const status = await get("/v1/cs/listener", { ip, tenant });
    const rows = Object.entries(status.lisentersGroupkeyStatus || {}).map(([key, md5]) => ({ key, md5 }));
    parts.push(h("h2", {}, `Configs ${ip} listens to`), table([
      { title: "Config (dataId+group+tenant)", cell: (row) => row.key },
      { title: "Their md5", cell: (row) => h("code", {}, row.md5 || "(none)") },
    ], rows, "This IP listens to nothing."));
  }
  render(main, ...parts);
}
