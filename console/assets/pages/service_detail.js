// One service: its metadata and protect threshold, its clusters and instances (enable or
// disable, weight, metadata), and its subscribers. The instance list refreshes itself.

import { get, put } from "../api.js";
import { currentNamespace, errorBox, field, h, modal, render, table, toast } from "../ui.js";

const REFRESH_MS = 3000;

export default async function serviceDetail(main, params) {
  const namespaceId = currentNamespace();
  const serviceName = params.get("name");
  const groupName = params.get("group") || "DEFAULT_GROUP";
  const ids = { serviceName, groupName, namespaceId };
  const service = await get("/v1/ns/catalog/service", ids);
  const status = h("div", {});
  const instancesBox = h("div", { "data-testid": "instances" });
  const subscribersBox = h("div", {});

  const editService = async () => {
    const threshold = h("input", { type: "number", min: "0", max: "1", step: "0.01", value: String(service.protectThreshold) });
    const metadata = h("textarea", { rows: "4", class: "code" });
    metadata.value = JSON.stringify(service.metadata || {}, null, 2);
    const saved = await modal((close) => h("form", { onsubmit: async (event) => {
      event.preventDefault();
      try {
        JSON.parse(metadata.value);
        await put("/v1/ns/service", { ...ids, protectThreshold: threshold.value, metadata: metadata.value });
        close(true);
      } catch (err) {
        event.target.append(errorBox(err));
      }
    } }, h("h2", {}, `Edit ${serviceName}`), field("Protect threshold (0 to 1)", threshold), field("Metadata (JSON object)", metadata),
    h("div", { class: "actions" }, h("button", { class: "primary", type: "submit" }, "Save"), h("button", { type: "button", onclick: () => close(false) }, "Cancel"))));
    if (saved) {
      toast("Service saved");
      await serviceDetail(main, params);
    }
  };

  const update = async (instance, changes) => {
    try {
      await put("/v1/ns/instance", { ...ids, ip: instance.ip, port: instance.port, clusterName: instance.clusterName, ephemeral: instance.ephemeral,
        weight: instance.weight, enabled: instance.enabled, metadata: JSON.stringify(instance.metadata || {}), ...changes });
      toast("Instance updated");
      await showInstances();
    } catch (err) {
      render(status, errorBox(err));
    }
  };
  const editInstance = async (instance) => {
    const weight = h("input", { type: "number", min: "0", max: "10000", step: "0.1", value: String(instance.weight) });
    const metadata = h("textarea", { rows: "4", class: "code" });
    metadata.value = JSON.stringify(instance.metadata || {}, null, 2);
    const changes = await modal((close) => h("form", { onsubmit: (event) => {
      event.preventDefault();
      try {
        JSON.parse(metadata.value);
        close({ weight: weight.value, metadata: metadata.value });
      } catch (err) {
        event.target.append(errorBox(`Metadata is not JSON: ${err.message}`));
      }
    } }, h("h2", {}, `Edit ${instance.ip}:${instance.port}`), field("Weight", weight), field("Metadata (JSON object)", metadata),
    h("div", { class: "actions" }, h("button", { class: "primary", type: "submit" }, "Save"), h("button", { type: "button", onclick: () => close(null) }, "Cancel"))));
    if (changes) await update(instance, changes);
  };

  const showInstances = async () => {
    const sections = [];
    for (const cluster of service.clusters.length ? service.clusters : [{ name: "DEFAULT" }]) {
      const list = await get("/v1/ns/catalog/instances", { ...ids, clusterName: cluster.name, pageNo: 1, pageSize: 500 });
      sections.push(h("h2", {}, `Cluster ${cluster.name}`, cluster.healthChecker ? h("span", { class: "muted" }, ` · health check ${cluster.healthChecker.type}`) : null),
        table([
          { title: "Address", cell: (i) => `${i.ip}:${i.port}` },
          { title: "Health", cell: (i) => h("span", { class: i.healthy ? "badge ok" : "badge bad" }, i.healthy ? "healthy" : "unhealthy") },
          { title: "State", cell: (i) => h("span", { class: i.enabled ? "badge ok" : "badge warn", "data-testid": `state-${i.ip}-${i.port}` }, i.enabled ? "enabled" : "disabled") },
          { title: "Weight", cell: (i) => String(i.weight), optional: true },
          { title: "Kind", cell: (i) => i.ephemeral ? "ephemeral" : "persistent", optional: true },
          { title: "Metadata", cell: (i) => h("code", {}, JSON.stringify(i.metadata || {})), optional: true },
          { title: "", cell: (i) => h("div", { class: "actions" },
            h("button", { onclick: () => update(i, { enabled: !i.enabled }), "data-testid": `toggle-${i.ip}-${i.port}` }, i.enabled ? "Disable" : "Enable"),
            h("button", { onclick: () => editInstance(i) }, "Edit")) },
        ], list.list, "No instances in this cluster."));
    }
    render(instancesBox, sections);
  };

  const showSubscribers = async () => {
    const list = await get("/v1/ns/service/subscribers", { ...ids, pageNo: 1, pageSize: 100 });
    render(subscribersBox, table([
      { title: "Address", cell: (s) => s.addrStr || `${s.ip}:${s.port}` },
      { title: "Agent", cell: (s) => s.agent || "", optional: true },
      { title: "App", cell: (s) => s.app || "", optional: true },
    ], list.subscribers, "No subscribers."));
  };

  render(main, h("h1", {}, serviceName),
    h("div", { class: "card" },
      h("p", {}, `Group ${groupName} · protect threshold ${service.protectThreshold}`),
      h("p", {}, "Metadata: ", h("code", {}, JSON.stringify(service.metadata || {}))),
      h("div", { class: "actions" }, h("button", { onclick: editService }, "Edit service"), h("a", { class: "button", href: "#/services" }, "Back"))),
    status, instancesBox, h("h2", {}, "Subscribers"), subscribersBox);
  await Promise.all([showInstances(), showSubscribers()]);

  // Instances come and go without the user doing anything: refresh while this page shows.
  const timer = setInterval(async () => {
    if (!main.isConnected) {
      clearInterval(timer);
      return;
    }
    try {
      await Promise.all([showInstances(), showSubscribers()]);
    } catch {
      // The next round tries again; a failure here must not break the page.
    }
  }, REFRESH_MS);
}
