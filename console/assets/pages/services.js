// Services of the current namespace: instance and healthy counts, search, delete.

import { del, get } from "../api.js";
import { go } from "../app.js";
import { confirmAction, currentNamespace, errorBox, field, h, pager, render, table, toast } from "../ui.js";

const PAGE_SIZE = 10;

export default async function services(main, params) {
  const namespaceId = currentNamespace();
  const name = params.get("name") || "";
  const group = params.get("group") || "";
  const pageNo = Number(params.get("pageNo") || 1);
  const page = await get("/v1/ns/catalog/services", { namespaceId, serviceNameParam: name, groupNameParam: group, pageNo, pageSize: PAGE_SIZE, hasIpCount: "false" });
  const status = h("div", {});
  const search = h("form", { class: "toolbar", role: "search", onsubmit: (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    go("services", { name: form.get("name"), group: form.get("group") });
  } }, field("Service name", h("input", { name: "name", value: name })), field("Group", h("input", { name: "group", value: group })), h("button", { type: "submit" }, "Search"));
  const remove = async (service) => {
    if (!(await confirmAction(`Delete service ${service.name}? Only a service without instances can be deleted.`))) return;
    try {
      await del("/v1/ns/service", { serviceName: service.name, groupName: service.groupName, namespaceId });
      toast("Service deleted");
      await services(main, params);
    } catch (err) {
      render(status, errorBox(err));
    }
  };
  const link = (service) => `#/service?${new URLSearchParams({ name: service.name, group: service.groupName })}`;
  const rows = table([
    { title: "Service", cell: (service) => h("a", { href: link(service) }, service.name) },
    { title: "Group", cell: (service) => service.groupName, optional: true },
    { title: "Clusters", cell: (service) => String(service.clusterCount), optional: true },
    { title: "Instances", cell: (service) => String(service.ipCount) },
    { title: "Healthy", cell: (service) => h("span", { class: service.healthyInstanceCount < service.ipCount ? "badge warn" : "badge ok" }, String(service.healthyInstanceCount)) },
    { title: "", cell: (service) => h("div", { class: "actions" }, h("a", { class: "button", href: link(service) }, "Detail"), h("button", { class: "danger", onclick: () => remove(service) }, "Delete")) },
  ], page.serviceList, name || group ? "No service matches the search." : "No services in this namespace yet. Register an instance with an SDK or the API.");
  render(main, h("h1", {}, "Services"), search, status, rows, pager(pageNo, PAGE_SIZE, page.count, (next) => go("services", { name, group, pageNo: next })));
}
