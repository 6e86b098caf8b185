// What the pages do, beyond the journey: beta release and its end, clone of a selection,
// an instance's weight and metadata, a service's protect threshold, users, roles and
// permissions made through the forms, and the listeners of a config with a held long poll.

import assert from "node:assert/strict";
import { test } from "node:test";
import { api, eventually, guardedPage, login, shot, useAuthNode } from "./harness.mjs";

let node;
let browser;
let token;

useAuthNode(async (ready) => {
  ({ node, browser, token } = ready);
  await api(node, "POST", "/v1/console/namespaces", { customNamespaceId: "dev", namespaceName: "Development" }, token);
  await api(node, "POST", "/v1/cs/configs", { dataId: "shared.yaml", group: "DEFAULT_GROUP", content: "a: 1", type: "yaml", appName: "shop" }, token);
  await api(node, "POST", "/v1/ns/instance", { serviceName: "billing", ip: "127.0.0.31", port: "9000", ephemeral: "false" }, token);
});

async function page() {
  const opened = await guardedPage(browser);
  await login(opened.page, node.base);
  return opened;
}

test("a beta release is published to some IPs and stopped", async () => {
  const { page: p, context, guard } = await page();
  await p.goto(`${node.base}/nacos/#/config?dataId=shared.yaml&group=DEFAULT_GROUP`);
  await p.getByTestId("content").fill("a: beta");
  await p.getByLabel("Beta client IPs").fill("127.0.0.44");
  await p.getByRole("button", { name: "Publish beta" }).click();
  await p.getByTestId("confirm-publish").click();
  assert.equal(await p.getByTestId("beta-ips").innerText(), "127.0.0.44");
  const beta = (await api(node, "GET", "/v1/cs/configs", { dataId: "shared.yaml", group: "DEFAULT_GROUP", beta: "true" }, token)).json();
  assert.equal(beta.data.content, "a: beta");
  assert.equal((await api(node, "GET", "/v1/cs/configs", { dataId: "shared.yaml", group: "DEFAULT_GROUP" }, token)).text, "a: 1", "others keep the formal config");
  await p.getByRole("button", { name: "Stop beta" }).click();
  await p.getByRole("dialog").getByRole("button", { name: "Stop beta" }).click();
  await p.getByText("No beta is live.").waitFor();
  guard.check();
  await context.close();
});

test("selected configs are cloned into another namespace", async () => {
  const { page: p, context, guard } = await page();
  await p.goto(`${node.base}/nacos/#/configs`);
  await p.getByLabel("Select shared.yaml").check();
  await p.getByRole("button", { name: "Clone selected…" }).click();
  await p.getByLabel("Target namespace").selectOption("dev");
  await p.getByRole("button", { name: "Clone", exact: true }).click();
  assert.match(await p.getByTestId("transfer-report").innerText(), /1 added or updated/);
  assert.equal((await api(node, "GET", "/v1/cs/configs", { dataId: "shared.yaml", group: "DEFAULT_GROUP", tenant: "dev" }, token)).text, "a: 1");
  // Again with ABORT: it exists now, so nothing is written and the page says so.
  await p.getByLabel("Select shared.yaml").check();
  await p.getByRole("button", { name: "Clone selected…" }).click();
  await p.getByLabel("Target namespace").selectOption("dev");
  await p.getByRole("button", { name: "Clone", exact: true }).click();
  await p.getByText("Refused (they exist; nothing was written): DEFAULT_GROUP/shared.yaml").waitFor();
  guard.check();
  await context.close();
});

test("an instance's weight and metadata and a service's protect threshold are edited", async () => {
  const { page: p, context, guard } = await page();
  await p.goto(`${node.base}/nacos/#/service?name=billing&group=DEFAULT_GROUP`);
  await p.getByTestId("state-127.0.0.31-9000").waitFor();
  await p.getByRole("button", { name: "Edit", exact: true }).click();
  await p.getByLabel("Weight").fill("3.5");
  await p.getByLabel("Metadata (JSON object)").fill('{"zone": "b"}');
  await p.getByRole("button", { name: "Save" }).click();
  await eventually(async () => {
    const list = (await api(node, "GET", "/v1/ns/instance/list", { serviceName: "billing" }, token)).json();
    return list.hosts[0].weight === 3.5 && list.hosts[0].metadata.zone === "b";
  }, 5000, "instance edited");
  await p.getByRole("cell", { name: '{"zone":"b"}' }).waitFor();

  await p.getByRole("button", { name: "Edit service" }).click();
  await p.getByLabel("Protect threshold (0 to 1)").fill("0.5");
  await p.getByRole("button", { name: "Save" }).click();
  await p.getByText("protect threshold 0.5").waitFor();
  const service = (await api(node, "GET", "/v1/ns/service", { serviceName: "billing" }, token)).json();
  assert.equal(service.protectThreshold, 0.5);
  guard.check();
  await context.close();
});

test("users, roles and permissions are made through the forms", async () => {
  const { page: p, context, guard } = await page();
  await p.goto(`${node.base}/nacos/#/users`);
  await p.getByLabel("User name").fill("carol");
  await p.getByLabel("Password").fill("carol-pw");
  await p.getByRole("button", { name: "Create user" }).click();
  await p.getByRole("cell", { name: "carol", exact: true }).waitFor();
  await p.getByRole("tab", { name: "Roles" }).click();
  await p.getByRole("button", { name: "Give role" }).waitFor();
  await p.getByLabel("Role").fill("ops");
  await p.getByLabel("User name").fill("carol");
  await p.getByRole("button", { name: "Give role" }).click();
  await p.getByRole("cell", { name: "ops", exact: true }).waitFor();
  await p.getByRole("tab", { name: "Permissions" }).click();
  await p.getByRole("button", { name: "Grant" }).waitFor();
  await p.getByLabel("Role").fill("ops");
  await p.getByLabel("Resource").fill("dev:*:*");
  await p.getByLabel("Action").selectOption("rw");
  await p.getByRole("button", { name: "Grant" }).click();
  await p.getByRole("cell", { name: "dev:*:*" }).waitFor();
  await shot(p, "permissions-granted-1280");
  // The new user can log in and work in dev.
  const login = await api(node, "POST", "/v1/auth/users/login", { username: "carol", password: "carol-pw" });
  const carol = login.json().accessToken;
  const write = await api(node, "POST", "/v1/cs/configs", { dataId: "c", group: "G", content: "x", tenant: "dev" }, carol);
  assert.equal(write.text, "true");
  guard.check();
  await context.close();
});

test("the listeners of a config show a held long poll until it is answered", async () => {
  const md5 = (await api(node, "GET", "/v1/cs/configs", { dataId: "shared.yaml", group: "DEFAULT_GROUP", show: "all" }, token)).json().md5;
  const hold = (clientMd5) => {
    const controller = new AbortController();
    fetch(`${node.base}/nacos/v1/cs/configs/listener?accessToken=${token}`, {
      method: "POST",
      headers: { "Long-Pulling-Timeout": "30000" },
      body: new URLSearchParams({ "Listening-Configs": `shared.yaml\u0002DEFAULT_GROUP\u0002${clientMd5}\u0001` }),
      signal: controller.signal,
    }).catch(() => {});
    return controller;
  };
  const poll = hold(md5);
  try {
    const { page: p, context, guard } = await page();
    await p.goto(`${node.base}/nacos/#/listeners?dataId=shared.yaml&group=DEFAULT_GROUP`);
    await p.getByText("up to date").waitFor();
    await shot(p, "listeners-held-poll-1280");
    // The config changes: the held poll is answered with the change, and the page,
    // reloaded, no longer lists it (an HTTP client holding a stale md5 is answered at once,
    // so only a gRPC client can show as stale).
    await api(node, "POST", "/v1/cs/configs", { dataId: "shared.yaml", group: "DEFAULT_GROUP", content: "a: 2", type: "yaml" }, token);
    await eventually(async () => {
      await p.goto(`${node.base}/nacos/#/listeners?dataId=shared.yaml&group=DEFAULT_GROUP&r=${Date.now()}`);
      await p.locator("main h1").waitFor();
      return (await p.getByText("No client listens to this config.").count()) > 0;
    }, 10000, "the answered poll gone");
    guard.check();
    await context.close();
  } finally {
    poll.abort();
  }
});

test("deletes ask first; namespaces are edited and deleted", async () => {
  await api(node, "POST", "/v1/cs/configs", { dataId: "doomed", group: "DEFAULT_GROUP", content: "x" }, token);
  await api(node, "POST", "/v1/console/namespaces", { customNamespaceId: "tmp", namespaceName: "Temporary" }, token);
  const { page: p, context, guard } = await page();
  const exists = async () => (await api(node, "GET", "/v1/cs/configs", { dataId: "doomed", group: "DEFAULT_GROUP" }, token)).status === 200;
  await p.goto(`${node.base}/nacos/#/configs?dataId=doomed&mode=accurate`);
  const row = p.getByRole("row", { name: /doomed/ });
  await row.getByRole("button", { name: "Delete" }).click();
  await p.getByRole("dialog").getByRole("button", { name: "Cancel" }).click();
  assert.ok(await exists(), "cancelled: still there");
  await row.getByRole("button", { name: "Delete" }).click();
  await p.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
  await p.getByText("No config matches the search.").waitFor();
  assert.equal(await exists(), false);

  await p.goto(`${node.base}/nacos/#/namespaces`);
  const tmp = p.getByRole("row", { name: /Temporary/ });
  await tmp.getByRole("button", { name: "Edit" }).click();
  await p.getByRole("dialog").getByLabel("Name").fill("Scratch");
  await p.getByRole("dialog").getByRole("button", { name: "Save" }).click();
  await p.getByRole("cell", { name: "Scratch" }).waitFor();
  await p.getByRole("row", { name: /Scratch/ }).getByRole("button", { name: "Delete" }).click();
  await p.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
  await eventually(async () => (await p.getByRole("cell", { name: "Scratch" }).count()) === 0, 5000, "namespace gone");
  const list = (await api(node, "GET", "/v1/console/namespaces", {}, token)).json();
  assert.ok(!list.data.some((ns) => ns.namespace === "tmp"));
  guard.check();
  await context.close();
});
