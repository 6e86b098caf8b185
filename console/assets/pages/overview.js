// What this node holds: counts of configs, services, instances, clients and listeners.

import { get } from "../api.js";
import { h, render } from "../ui.js";

export default async function overview(main) {
  const counts = await get("/v1/console/overview");
  const stat = (label, value, link) => h("a", { class: "stat", href: link, style: "text-decoration:none;color:inherit" },
    h("div", { class: "n", "data-testid": `count-${label.toLowerCase().replace(/ /g, "-")}` }, String(value)), h("div", { class: "l" }, label));
  render(main, h("h1", {}, "Overview"), h("div", { class: "cards" },
    stat("Namespaces", counts.namespaceCount, "#/namespaces"),
    stat("Configs", counts.configCount, "#/configs"),
    stat("Services", counts.serviceCount, "#/services"),
    stat("Instances", counts.instanceCount, "#/services"),
    stat("Registry clients", counts.clientCount, "#/services"),
    stat("Subscribers", counts.subscriberCount, "#/services"),
    stat("Config listeners", counts.listenerCount, "#/listeners"),
    stat("Listened configs", counts.listenedConfigCount, "#/listeners"),
    stat("Cluster nodes", counts.nodeCount, "#/cluster")),
  h("p", { class: "muted" }, "Registry clients are gRPC connections and HTTP clients holding instances; config listeners are gRPC connections and long polls listening to at least one config."));
}
