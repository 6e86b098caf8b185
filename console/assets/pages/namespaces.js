// Namespaces: list with config counts, create, edit, delete.

import { del, get, post, put } from "../api.js";
import { refreshNamespaces } from "../app.js";
import { confirmAction, errorBox, field, h, modal, render, table, toast } from "../ui.js";

export default async function namespaces(main) {
  const list = await get("/v1/console/namespaces");
  const status = h("div", {});
  const id = h("input", { name: "customNamespaceId", placeholder: "generated when blank", pattern: "[A-Za-z0-9_\\-]*" });
  const name = h("input", { name: "namespaceName", required: true });
  const desc = h("input", { name: "namespaceDesc" });
  const create = h("form", { class: "card inline", onsubmit: async (event) => {
    event.preventDefault();
    render(status);
    try {
      const answer = await post("/v1/console/namespaces", { customNamespaceId: id.value.trim(), namespaceName: name.value.trim(), namespaceDesc: desc.value.trim() });
      if (answer !== true && answer !== "true") throw new Error(`Namespace '${id.value}' already exists.`);
      toast(`Namespace ${name.value} created`);
      await refreshNamespaces();
      await namespaces(main);
    } catch (err) {
      render(status, errorBox(err));
    }
  } }, field("ID", id), field("Name", name), field("Description", desc), h("button", { class: "primary", type: "submit" }, "Create namespace"));

  const edit = async (ns) => {
    const newName = h("input", { value: ns.namespaceShowName, required: true, "aria-label": "Name" });
    const newDesc = h("input", { value: ns.namespaceDesc || "", "aria-label": "Description" });
    const saved = await modal((close) => h("form", { onsubmit: async (event) => {
      event.preventDefault();
      try {
        await put("/v1/console/namespaces", { namespace: ns.namespace, namespaceShowName: newName.value.trim(), namespaceDesc: newDesc.value.trim() });
        close(true);
      } catch (err) {
        event.target.append(errorBox(err));
      }
    } }, h("h2", {}, `Edit ${ns.namespace}`), field("Name", newName), field("Description", newDesc),
    h("div", { class: "actions" }, h("button", { class: "primary", type: "submit" }, "Save"), h("button", { type: "button", onclick: () => close(false) }, "Cancel"))));
    if (saved) {
      toast("Namespace saved");
      await refreshNamespaces();
      await namespaces(main);
    }
  };
  const remove = async (ns) => {
    const sure = await confirmAction(`Delete namespace ${ns.namespaceShowName} (${ns.namespace})? Its ${ns.configCount} config(s) are not deleted with it.`);
    if (!sure) return;
    try {
      await del("/v1/console/namespaces", { namespaceId: ns.namespace });
      toast("Namespace deleted");
      await refreshNamespaces();
      await namespaces(main);
    } catch (err) {
      render(status, errorBox(err));
    }
  };
  const rows = table([
    { title: "Name", cell: (ns) => ns.namespaceShowName || "public" },
    { title: "ID", cell: (ns) => h("code", {}, ns.namespace || "(public)") },
    { title: "Description", cell: (ns) => ns.namespaceDesc || "", optional: true },
    { title: "Configs", cell: (ns) => String(ns.configCount) },
    { title: "", cell: (ns) => ns.namespace ? h("div", { class: "actions" },
      h("button", { onclick: () => edit(ns) }, "Edit"),
      h("button", { class: "danger", onclick: () => remove(ns) }, "Delete")) : h("span", { class: "muted" }, "always exists") },
  ], list.data);
  render(main, h("h1", {}, "Namespaces"), create, status, rows);
}
