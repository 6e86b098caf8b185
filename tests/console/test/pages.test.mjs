// Every page of the console, each checked for what it must show, at desktop and phone
// widths, with a screenshot of each; plus the console with auth off, and a user without
// permissions who is told what is missing.

import assert from "node:assert/strict";
import { test } from "node:test";
import { api, guardedPage, login, shot, startNacosd, useAuthNode } from "./harness.mjs";

let node;
let browser;
let token;

useAuthNode(async (ready) => {
  ({ node, browser, token } = ready);
  const publish = (dataId, content, type, tenant = "") => api(node, "POST", "/v1/cs/configs", { dataId, group: "DEFAULT_GROUP", content, type, tenant, appName: "shop" }, token);
  await api(node, "POST", "/v1/console/namespaces", { customNamespaceId: "dev", namespaceName: "Development", namespaceDesc: "for developers" }, token);
  await publish("orders.json", '{\n  "timeout": 30,\n  "retry": true\n}', "json");
  await publish("orders.yaml", "server:\n  port: 8080 # http\n", "yaml");
  await publish("orders.yaml", "server:\n  port: 9090 # http\n", "yaml");
  await publish("app.properties", "a.b=1\n# note\n", "properties");
  await publish("beta.toml", "[server]\nport = 1\n", "toml");
  await api(node, "POST", "/v1/cs/configs", { dataId: "beta.toml", group: "DEFAULT_GROUP", content: "[server]\nport = 2\n" }, token)
    .then(() => fetch(`${node.base}/nacos/v1/cs/configs?accessToken=${token}`, { method: "POST", headers: { betaIps: "127.0.0.9" }, body: new URLSearchParams({ dataId: "beta.toml", group: "DEFAULT_GROUP", content: "[server]\nport = 3\n" }) }));
  await api(node, "POST", "/v1/ns/instance", { serviceName: "payments", ip: "127.0.0.21", port: "8080", ephemeral: "false", metadata: '{"zone":"a"}' }, token);
  await api(node, "POST", "/v1/ns/instance", { serviceName: "payments", ip: "127.0.0.22", port: "8080", ephemeral: "false", enabled: "false" }, token);
  await api(node, "POST", "/v1/auth/users", { username: "reader", password: "reader-pw" }, token);
  await api(node, "POST", "/v1/auth/roles", { role: "dev-readers", username: "reader" }, token);
  await api(node, "POST", "/v1/auth/permissions", { role: "dev-readers", resource: "dev:*:*", action: "r" }, token);
});

/** Each page: its route, what must be on it, and a name for its screenshot. */
const PAGES = [
  { name: "overview", hash: "#/", expect: async (page) => assert.equal(await page.getByTestId("count-configs").innerText(), "4") },
  { name: "namespaces", hash: "#/namespaces", expect: async (page) => { await page.getByRole("cell", { name: "Development" }).waitFor(); } },
  { name: "configs", hash: "#/configs", expect: async (page) => { await page.getByRole("link", { name: "orders.json" }).waitFor(); assert.match(await page.locator(".pager").innerText(), /4 in all/); } },
  { name: "configs-search", hash: "#/configs?dataId=orders*&mode=blur", expect: async (page) => { await page.getByRole("link", { name: "orders.yaml" }).waitFor(); assert.equal(await page.getByRole("link", { name: "app.properties" }).count(), 0); } },
  { name: "configs-empty-search", hash: "#/configs?dataId=nothing-like-this&mode=accurate", expect: async (page) => { await page.getByText("No config matches the search.").waitFor(); } },
  { name: "config-json", hash: "#/config?dataId=orders.json&group=DEFAULT_GROUP", expect: async (page) => { await page.locator(".editor .tok-key").first().waitFor(); } },
  { name: "config-yaml", hash: "#/config?dataId=orders.yaml&group=DEFAULT_GROUP", expect: async (page) => { await page.locator(".editor .tok-com").first().waitFor(); } },
  { name: "config-beta", hash: "#/config?dataId=beta.toml&group=DEFAULT_GROUP", expect: async (page) => assert.equal(await page.getByTestId("beta-ips").innerText(), "127.0.0.9") },
  { name: "config-missing", hash: "#/config?dataId=gone&group=DEFAULT_GROUP", allow: [[404, "dataId=gone"]], expect: async (page) => { await page.getByText("This config does not exist").waitFor(); } },
  { name: "history", hash: "#/history?dataId=orders.yaml&group=DEFAULT_GROUP&nid=1", expect: async (page) => { await page.getByTestId("history-record").waitFor(); assert.match(await page.getByTestId("diff").innerText(), /- {3}port: 9090/); } },
  { name: "listeners", hash: "#/listeners?dataId=orders.yaml&group=DEFAULT_GROUP", expect: async (page) => { await page.getByText("No client listens to this config.").waitFor(); } },
  { name: "transfer", hash: "#/transfer", expect: async (page) => { await page.getByTestId("export-all").waitFor(); } },
  { name: "services", hash: "#/services", expect: async (page) => { await page.getByRole("link", { name: "payments" }).waitFor(); } },
  { name: "service", hash: "#/service?name=payments&group=DEFAULT_GROUP", expect: async (page) => { assert.equal(await page.getByTestId("state-127.0.0.22-8080").innerText(), "disabled"); } },
  { name: "cluster", hash: "#/cluster", expect: async (page) => { await page.getByText("leader").waitFor(); } },
  { name: "users", hash: "#/users", expect: async (page) => { await page.getByRole("cell", { name: "reader" }).waitFor(); } },
  { name: "roles", hash: "#/users?tab=roles", expect: async (page) => { await page.getByRole("cell", { name: "dev-readers" }).first().waitFor(); } },
  { name: "permissions", hash: "#/users?tab=permissions", expect: async (page) => { await page.getByRole("cell", { name: "dev:*:*" }).waitFor(); } },
];

for (const width of [1280, 390]) {
  for (const spec of PAGES) {
    test(`page ${spec.name} at ${width} px`, async () => {
      const { page, context, guard } = await guardedPage(browser, { width, height: width > 500 ? 860 : 844 });
      for (const [status, part] of spec.allow || []) guard.allow(status, part);
      await login(page, node.base);
      await page.goto(`${node.base}/nacos/${spec.hash}`);
      await page.locator("main h1").waitFor();
      try {
        await spec.expect(page);
      } catch (err) {
        await shot(page, `FAILED-${spec.name}-${width}`);
        throw err;
      }
      // Nothing wider than the screen but tables, which scroll in their own box.
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `the page is ${overflow} px wider than the screen`);
      await shot(page, `${spec.name}-${width}`);
      guard.check();
      await context.close();
    });
  }
}

test("the menu and every page's controls are reachable with the keyboard", async () => {
  const { page, context, guard } = await guardedPage(browser);
  await login(page, node.base);
  await page.goto(`${node.base}/nacos/#/`);
  await page.locator("main h1").waitFor();
  const reached = new Set();
  for (let presses = 0; presses < 30; presses++) {
    await page.keyboard.press("Tab");
    reached.add(await page.evaluate(() => document.activeElement?.textContent?.trim() || document.activeElement?.getAttribute("aria-label") || ""));
  }
  for (const link of ["Namespaces", "Configs", "Services", "Cluster"]) assert.ok(reached.has(link), `${link} reached by Tab: ${[...reached]}`);
  // Enter follows the focused link.
  await page.getByRole("link", { name: "Configs", exact: true }).focus();
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Configs" }).waitFor();
  guard.check();
  await context.close();
});

test("a user without a permission is told what is missing", async () => {
  const { page, context, guard } = await guardedPage(browser);
  guard.allow(403, "/nacos/v1/cs/configs");
  await login(page, node.base, "reader", "reader-pw");
  await page.goto(`${node.base}/nacos/#/configs`);
  const error = page.getByRole("alert");
  await error.waitFor();
  assert.match(await error.innerText(), /Not allowed: .*permission/);
  await shot(page, "forbidden-1280");
  await page.locator("#namespace-select").selectOption("dev");
  await page.getByText("No configs in this namespace yet").waitFor();
  guard.check();
  await context.close();
});

test("with auth off the console opens without a login", async () => {
  const open = await startNacosd();
  try {
    const { page, context, guard } = await guardedPage(browser);
    await page.goto(`${open.base}/`);
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    assert.match(await page.locator("#who").innerText(), /auth off/);
    await page.goto(`${open.base}/nacos/#/users`);
    await page.getByText("Auth is off on this server").waitFor();
    guard.check();
    await context.close();
  } finally {
    await open.stop();
  }
});
