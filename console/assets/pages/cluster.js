// The cluster's nodes: id, address, raft role, term, last log index, health.

import { get } from "../api.js";
import { h, render, table } from "../ui.js";

export default async function cluster(main) {
  const nodes = await get("/v1/core/cluster/nodes");
  render(main, h("h1", {}, "Cluster"), table([
    { title: "Node", cell: (node) => String(node.nodeId) },
    { title: "Address", cell: (node) => node.address },
    { title: "Cluster address", cell: (node) => node.clusterAddr || "", optional: true },
    { title: "Role", cell: (node) => h("span", { class: node.raftRole === "leader" ? "badge ok" : "badge" }, node.raftRole || "") },
    { title: "Term", cell: (node) => String(node.term ?? ""), optional: true },
    { title: "Last log index", cell: (node) => String(node.lastLogIndex ?? ""), optional: true },
    { title: "Health", cell: (node) => h("span", { class: node.state === "UP" ? "badge ok" : "badge bad" }, node.state) },
  ], nodes.data, "No nodes: this node has not joined a cluster."));
}
