// One config: create or edit with highlighting, a format check, a diff before publishing,
// publish with compare-and-swap (a concurrent change is shown, never overwritten), and
// beta releases by client IP.

import { call, del, get } from "../api.js";
import { go } from "../app.js";
import { diffView } from "../diff.js";
import { codeEditor, codeView } from "../highlight.js";
import { load as parseYaml } from "../vendor/js-yaml.mjs";
import { confirmAction, currentNamespace, errorBox, field, h, modal, render, toast } from "../ui.js";

const TYPES = ["text", "json", "yaml", "properties", "xml", "html", "toml"];

/** Why `content` is not valid `type`, or null; only JSON, YAML and XML are checked. */
export function formatProblem(content, type) {
  try {
    if (type === "json") JSON.parse(content);
    if (type === "yaml") parseYaml(content);
    if (type === "xml") {
      const doc = new DOMParser().parseFromString(content, "application/xml");
      const error = doc.querySelector("parsererror");
      if (error) return `not well-formed XML: ${error.textContent.split("\n")[0]}`;
    }
    return null;
  } catch (err) {
    return `not valid ${type.toUpperCase()}: ${err.message.split("\n")[0]}`;
  }
}

async function detail(dataId, group, tenant) {
  try {
    return await get("/v1/cs/configs", { dataId, group, tenant, show: "all" });
  } catch (err) {
    if (err.status === 404) return null;
    throw err;
  }
}

/** Whether the config exists, asked without a 404 in the page's log. */
async function exists(dataId, group, tenant) {
  const page = await get("/v1/cs/configs", { search: "accurate", dataId, group, tenant, pageNo: 1, pageSize: 1 });
  return page.totalCount > 0;
}

export default async function configEdit(main, params) {
  const tenant = currentNamespace();
  const creating = params.get("create") === "1";
  const loaded = creating ? null : await detail(params.get("dataId"), params.get("group"), tenant);
  if (!creating && !loaded) {
    render(main, h("h1", {}, "Config"), h("div", { class: "card empty" }, "This config does not exist (any more). ", h("a", { href: "#/configs" }, "Back to the list")));
    return;
  }
  const original = loaded ? loaded.content : "";
  const status = h("div", {});
  const dataId = h("input", { name: "dataId", value: loaded ? loaded.dataId : "", required: true, readonly: !creating, "data-testid": "dataId" });
  const group = h("input", { name: "group", value: loaded ? loaded.group : "DEFAULT_GROUP", required: true, readonly: !creating, "data-testid": "group" });
  const type = h("select", { name: "type", "data-testid": "type" }, TYPES.map((name) => h("option", { value: name, selected: (loaded ? loaded.type : "text") === name }, name)));
  const desc = h("input", { name: "desc", value: loaded ? loaded.desc || "" : "" });
  const appName = h("input", { name: "appName", value: loaded ? loaded.appName || "" : "" });
  const tags = h("input", { name: "config_tags", value: loaded ? loaded.configTags || "" : "", placeholder: "a,b" });
  const editor = codeEditor(original, () => type.value, "Content");
  type.addEventListener("change", editor.refresh);

  const values = () => ({ dataId: dataId.value.trim(), group: group.value.trim(), tenant, content: editor.input.value, type: type.value, desc: desc.value, appName: appName.value, config_tags: tags.value });

  const publish = async (betaIps) => {
    render(status);
    const form = values();
    if (!form.dataId || !form.group) return render(status, errorBox("Data ID and group are required."));
    if (!form.content.trim()) return render(status, errorBox("The content is empty."));
    const problem = formatProblem(form.content, form.type);
    if (problem) return render(status, h("div", { class: "error", role: "alert", "data-testid": "format-error" }, `The content is ${problem}. Fix it or choose another type.`));
    if (creating && (await exists(form.dataId, form.group, tenant))) {
      return render(status, errorBox(`${form.group}/${form.dataId} already exists: open it from the list to edit it.`));
    }
    const current = loaded ? await detail(form.dataId, form.group, tenant) : null;
    const changedMeanwhile = loaded && current && current.md5 !== loaded.md5;
    const base = current ? current.content : "";
    const go_ahead = await modal((close) => [
      h("h2", {}, betaIps ? `Publish beta for ${betaIps}` : "Publish these changes?"),
      changedMeanwhile ? h("p", { class: "notice" }, "Someone changed this config since you opened it; the diff is against their version.") : null,
      diffView(base, form.content, { beforeLabel: current ? "published" : "nothing", afterLabel: "yours" }),
      h("div", { class: "actions", style: "margin-top:12px" },
        h("button", { class: "primary", onclick: () => close(true), "data-testid": "confirm-publish" }, betaIps ? "Publish beta" : "Publish"),
        h("button", { onclick: () => close(false) }, "Cancel")),
    ]);
    if (!go_ahead) return;
    const headers = {};
    if (betaIps) headers.betaIps = betaIps;
    // Compare-and-swap against the version this page loaded: a change made since is
    // refused by the server instead of overwritten.
    if (loaded && !betaIps) headers.casMd5 = loaded.md5;
    try {
      const body = new URLSearchParams({ ...form });
      await call("POST", "/v1/cs/configs", {}, { body, headers: { ...headers, "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8" } });
      toast(betaIps ? "Beta published" : "Published");
      if (creating) go("config", { dataId: form.dataId, group: form.group });
      else await configEdit(main, params);
    } catch (err) {
      if (err.status === 500 && /cas/i.test(err.message)) {
        const latest = await detail(form.dataId, form.group, tenant);
        render(status, h("div", { class: "notice", "data-testid": "cas-conflict" },
          h("p", {}, "Not published: someone changed this config after you opened it. Their version against yours:"),
          diffView(latest ? latest.content : "", form.content, { beforeLabel: "theirs", afterLabel: "yours" }),
          h("button", { onclick: () => configEdit(main, params) }, "Load their version (your edits are lost)")));
      } else {
        render(status, errorBox(err));
      }
    }
  };

  const remove = async () => {
    if (!(await confirmAction(`Delete config ${loaded.dataId} (group ${loaded.group})?`))) return;
    try {
      await del("/v1/cs/configs", { dataId: loaded.dataId, group: loaded.group, tenant });
      toast("Deleted");
      go("configs");
    } catch (err) {
      render(status, errorBox(err));
    }
  };

  const betaIps = h("input", { name: "betaIps", placeholder: "127.0.0.1,127.0.0.2", "aria-label": "Beta client IPs" });
  let betaSection = null;
  if (loaded) {
    const beta = await get("/v1/cs/configs", { dataId: loaded.dataId, group: loaded.group, tenant, beta: "true" });
    const stopBeta = async () => {
      if (!(await confirmAction("Stop the beta? Its clients get the published config again.", "Stop beta"))) return;
      try {
        await del("/v1/cs/configs", { dataId: loaded.dataId, group: loaded.group, tenant, beta: "true" });
        toast("Beta stopped");
        await configEdit(main, params);
      } catch (err) {
        render(status, errorBox(err));
      }
    };
    betaSection = h("section", { class: "card" }, h("h2", {}, "Beta release"),
      beta.data ? [h("p", {}, "Live for ", h("code", { "data-testid": "beta-ips" }, beta.data.betaIps), ":"), codeView(beta.data.content, beta.data.type || type.value),
        h("button", { class: "danger", onclick: stopBeta, style: "margin-top:8px" }, "Stop beta")] : h("p", { class: "muted" }, "No beta is live."),
      h("div", { class: "toolbar", style: "margin-top:10px" }, field("Publish the editor's content to these client IPs only", betaIps),
        h("button", { onclick: () => betaIps.value.trim() ? publish(betaIps.value.trim()) : render(status, errorBox("Name at least one IP.")) }, "Publish beta")));
  }

  render(main,
    h("h1", {}, creating ? "Create config" : `${loaded.dataId}`),
    loaded ? h("p", { class: "muted" }, `Group ${loaded.group} · md5 ${loaded.md5} · modified ${new Date(loaded.modifyTime).toLocaleString()}`) : null,
    h("div", { class: "card" },
      h("div", { class: "grid2" }, field("Data ID", dataId), field("Group", group), field("Type", type), field("App", appName), field("Description", desc), field("Tags", tags)),
      h("div", { style: "margin-top:12px" }, h("span", { class: "muted" }, "Content"), editor.element),
      status,
      h("div", { class: "actions", style: "margin-top:12px" },
        h("button", { class: "primary", onclick: () => publish(null), "data-testid": "publish" }, creating ? "Review and create" : "Review and publish"),
        loaded ? h("a", { class: "button", href: `#/history?${new URLSearchParams({ dataId: loaded.dataId, group: loaded.group })}` }, "History") : null,
        loaded ? h("a", { class: "button", href: `#/listeners?${new URLSearchParams({ dataId: loaded.dataId, group: loaded.group })}` }, "Listeners") : null,
        loaded ? h("button", { class: "danger", onclick: remove }, "Delete") : null,
        h("a", { class: "button", href: "#/configs" }, "Back"))),
    betaSection);
}
