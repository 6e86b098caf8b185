// Import and export of the current namespace's configs as Nacos zip archives. (Clone is on
// the configs page, from a selection.)

import { apiUrl, call } from "../api.js";
import { currentNamespace, errorBox, field, h, render } from "../ui.js";
import { transferReport } from "./configs.js";

export default async function transfer(main) {
  const tenant = currentNamespace();
  const result = h("div", {});
  const file = h("input", { type: "file", name: "file", accept: ".zip,application/zip", required: true, "data-testid": "import-file" });
  const policy = h("select", { name: "policy", "data-testid": "import-policy" },
    h("option", { value: "ABORT" }, "abort: import nothing if any config exists"),
    h("option", { value: "SKIP" }, "skip configs that exist"),
    h("option", { value: "OVERWRITE" }, "overwrite configs that exist"));
  const importForm = h("form", { class: "card", onsubmit: async (event) => {
    event.preventDefault();
    render(result, h("p", { class: "muted" }, "Importing…"));
    const body = new FormData();
    body.append("policy", policy.value);
    body.append("file", file.files[0]);
    try {
      const answer = await call("POST", "/v1/cs/configs", { import: "true", namespace: tenant, tenant }, { body });
      render(result, transferReport(answer));
    } catch (err) {
      render(result, errorBox(err));
    }
  } }, h("h2", {}, "Import"), h("p", { class: "muted" }, "A Nacos export (v1 or v2 layout) into this namespace. A damaged archive is refused whole."),
  h("div", { class: "toolbar" }, field("Archive", file), field("When a config exists", policy), h("button", { class: "primary", type: "submit" }, "Import")), result);
  render(main, h("h1", {}, "Import and export"),
    h("section", { class: "card" }, h("h2", {}, "Export"),
      h("p", { class: "muted" }, "Every config of this namespace as a zip: one entry per config and a metadata file. Select configs on the configs page to export some."),
      h("div", { class: "actions" },
        h("a", { class: "button primary", href: apiUrl("/v1/cs/configs", { exportV2: "true", tenant }), "data-testid": "export-all" }, "Export (Nacos 2.x layout)"),
        h("a", { class: "button", href: apiUrl("/v1/cs/configs", { export: "true", tenant }) }, "Export (1.x layout)"))),
    importForm);
}
