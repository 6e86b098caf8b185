// The user journey end to end, in a real browser against a real nacosd with auth on: log
// in, create a namespace, create a config, edit it and see the diff, publish, meet a
// concurrent change, roll back from history, export, import into the other namespace, see
// a Rust-SDK-registered instance appear, disable it and see the SDK's subscriber told.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";
import { ADMIN_PASSWORD, SDK_AGENT_BIN, adminToken, api, eventually, guardedPage, launchBrowser, login, shot, startNacosd } from "./harness.mjs";

let node;
let browser;
let agent;
const agentEvents = [];

before(async () => {
  node = await startNacosd({ auth: true });
  browser = await launchBrowser();
});

after(async () => {
  agent?.kill("SIGKILL");
  await browser?.close();
  await node?.stop();
});

async function configContent(token, dataId, tenant = "") {
  const answer = await api(node, "GET", "/v1/cs/configs", { dataId, group: "DEFAULT_GROUP", tenant }, token);
  return answer.status === 200 ? answer.text : null;
}

test("the console's user journey", async () => {
  const token = await adminToken(node);
  const { page, guard } = await guardedPage(browser);

  // Log in.
  await login(page, node.base);
  await shot(page, "journey-01-overview");

  // Create a namespace.
  await page.goto(`${node.base}/nacos/#/namespaces`);
  await page.getByLabel("ID").fill("staging");
  await page.getByLabel("Name", { exact: true }).fill("Staging");
  await page.getByRole("button", { name: "Create namespace" }).click();
  await page.getByRole("cell", { name: "staging", exact: true }).waitFor();
  assert.ok(await page.locator("#namespace-select option[value=staging]").count(), "the picker lists the new namespace");

  // Create a config: a YAML mistake is caught before anything is sent.
  await page.goto(`${node.base}/nacos/#/configs`);
  await page.getByRole("button", { name: "Create config" }).click();
  await page.getByTestId("dataId").fill("journey.yaml");
  await page.getByTestId("type").selectOption("yaml");
  await page.getByTestId("content").fill("greeting: [unclosed");
  await page.getByTestId("publish").click();
  await page.getByTestId("format-error").waitFor();
  assert.equal(await configContent(token, "journey.yaml"), null, "nothing published");
  await page.getByTestId("content").fill("greeting: hello");
  await page.getByTestId("publish").click();
  assert.match(await page.getByTestId("diff").innerText(), /\+ greeting: hello/);
  await page.getByTestId("confirm-publish").click();
  await eventually(async () => (await configContent(token, "journey.yaml")) === "greeting: hello", 5000, "created");
  await page.waitForURL(/#\/config\?dataId=journey.yaml/);

  // Edit it, see the diff, publish.
  await page.getByTestId("content").waitFor();
  await page.getByTestId("content").fill("greeting: hi");
  await page.getByTestId("publish").click();
  const diff = await page.getByTestId("diff").innerText();
  assert.match(diff, /- greeting: hello/);
  assert.match(diff, /\+ greeting: hi/);
  await shot(page, "journey-02-diff-before-publish");
  await page.getByTestId("confirm-publish").click();
  await eventually(async () => (await configContent(token, "journey.yaml")) === "greeting: hi", 5000, "edited");
  await page.getByText("md5").first().waitFor();

  // A change made elsewhere after the page loaded is shown, not overwritten.
  await page.getByTestId("content").waitFor();
  await api(node, "POST", "/v1/cs/configs", { dataId: "journey.yaml", group: "DEFAULT_GROUP", content: "greeting: sneaky", type: "yaml" }, token);
  guard.allow(500, "/nacos/v1/cs/configs");
  await page.getByTestId("content").fill("greeting: mine");
  await page.getByTestId("publish").click();
  await page.getByTestId("confirm-publish").click();
  await page.getByTestId("cas-conflict").waitFor();
  assert.equal(await configContent(token, "journey.yaml"), "greeting: sneaky", "the concurrent change survives");
  await shot(page, "journey-03-concurrent-change");

  // Roll back from history to the first version ("hello": the record of the edit to "hi").
  await page.goto(`${node.base}/nacos/#/history?dataId=journey.yaml&group=DEFAULT_GROUP`);
  await page.getByRole("button", { name: "View" }).first().waitFor();
  const views = page.getByRole("button", { name: "View" });
  let found = false;
  for (let index = 0; index < (await views.count()) && !found; index++) {
    await views.nth(index).click();
    const record = page.getByTestId("history-record");
    await record.waitFor();
    found = (await record.getByTestId("code-view").innerText()).trim() === "greeting: hello" && (await record.innerText()).includes("updated");
  }
  assert.ok(found, "the history lists the change from hello");
  await shot(page, "journey-04-history");
  await page.getByTestId("rollback").click();
  await page.getByRole("button", { name: "Roll back", exact: true }).click();
  await eventually(async () => (await configContent(token, "journey.yaml")) === "greeting: hello", 5000, "rolled back");

  // Export the public namespace.
  await page.goto(`${node.base}/nacos/#/transfer`);
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-all").click()]);
  const archive = await download.path();
  const bytes = readFileSync(archive);
  assert.equal(bytes.subarray(0, 2).toString(), "PK", "a zip");
  assert.ok(bytes.includes(Buffer.from("DEFAULT_GROUP/journey.yaml")), "with the config's entry");

  // Import it into staging.
  await page.locator("#namespace-select").selectOption("staging");
  await page.goto(`${node.base}/nacos/#/transfer`);
  await page.getByTestId("import-file").setInputFiles(archive);
  await page.getByRole("button", { name: "Import", exact: true }).click();
  const report = await page.getByTestId("transfer-report").innerText();
  assert.match(report, /1 added or updated/);
  assert.equal(await configContent(token, "journey.yaml", "staging"), "greeting: hello");
  await shot(page, "journey-05-import");

  // A Rust SDK registers an instance and subscribes; the console shows it.
  agent = spawn(SDK_AGENT_BIN, [`127.0.0.1:${node.http}`, String(node.grpc), "nacos", ADMIN_PASSWORD, "journey-svc", "127.0.0.77", "8080"], { stdio: ["ignore", "pipe", "inherit"] });
  createInterface({ input: agent.stdout }).on("line", (line) => agentEvents.push(JSON.parse(line)));
  await eventually(() => agentEvents.some((event) => event.event === "registered"), 30000, "the SDK registered");
  await page.locator("#namespace-select").selectOption("");
  await page.goto(`${node.base}/nacos/#/services`);
  await page.getByRole("link", { name: "journey-svc" }).click();
  const state = page.getByTestId("state-127.0.0.77-8080");
  await state.waitFor();
  assert.equal(await state.innerText(), "enabled");

  // Disable it: the page shows it, and the SDK's subscriber is told.
  const before = agentEvents.length;
  await page.getByTestId("toggle-127.0.0.77-8080").click();
  await eventually(async () => (await state.innerText()) === "disabled", 5000, "shown disabled");
  await eventually(() => agentEvents.slice(before).some((event) => event.event === "instances"
    && !event.instances.some((instance) => instance.ip === "127.0.0.77" && instance.enabled)), 10000, "the subscriber told");
  await shot(page, "journey-06-instance-disabled");
  guard.check();
});
