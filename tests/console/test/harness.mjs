// Shared by the console's browser tests: a real nacosd process on loopback, Debian's
// Chromium driven by playwright-core, and a guard that fails a test on any JavaScript
// error or unexpected failed request in the page.

import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before } from "node:test";
import { chromium } from "playwright-core";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const NACOSD_BIN = process.env.NACOSD_BIN || path.join(ROOT, "target/debug/nacosd");
export const SDK_AGENT_BIN = process.env.SDK_AGENT_BIN || path.join(ROOT, "target/debug/examples/sdk_agent");
export const CHROMIUM = process.env.CHROMIUM_BIN || "/usr/bin/chromium";
/** Screenshots of every page, for people to look at (outside the repo's sources). */
export const SHOTS = process.env.CONSOLE_SCREENSHOTS || path.join(ROOT, "target/console-screenshots");
export const ADMIN_PASSWORD = "console-admin-pw";
const SECRET = Buffer.from("a console test secret of at least thirty-two bytes!").toString("base64");

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it returns a truthy value or `ms` pass. */
export async function eventually(check, ms = 15000, what = "condition") {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} not reached in ${ms} ms${last ? `: ${last.message}` : ""}`);
}

/** Starts nacosd on free loopback ports; `auth` turns auth on with an admin password. */
export async function startNacosd({ auth = false } = {}) {
  // HTTP and gRPC ports a thousand apart, as the SDKs derive them.
  let http;
  for (;;) {
    http = 20000 + Math.floor(Math.random() * 20000);
    const probe = await Promise.all([http, http + 1000, http + 1001].map((port) => new Promise((resolve) => {
      const server = net.createServer();
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    })));
    if (probe.every(Boolean)) break;
  }
  const dataDir = mkdtempSync(path.join(tmpdir(), "nacosd-console-"));
  const args = ["--bind", "127.0.0.1", "--http-port", String(http), "--data-dir", dataDir];
  if (auth) args.push("--auth-enabled", "true", "--auth-token-secret", SECRET, "--auth-admin-password", ADMIN_PASSWORD);
  const child = spawn(NACOSD_BIN, args, { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr.on("data", (chunk) => { log += chunk; });
  const base = `http://127.0.0.1:${http}`;
  await eventually(async () => (await fetch(`${base}/nacos/v1/console/health/readiness`)).ok, 30000, "nacosd ready");
  return {
    base, http, grpc: http + 1000, log: () => log,
    async stop() {
      child.kill("SIGKILL");
      await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once("exit", resolve)));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A token for calls the test makes itself. */
export async function adminToken(node) {
  const response = await fetch(`${node.base}/nacos/v1/auth/users/login`, {
    method: "POST", body: new URLSearchParams({ username: "nacos", password: ADMIN_PASSWORD }),
  });
  return (await response.json()).accessToken;
}

/** Calls the API as the test (not the page), with a token when given. */
export async function api(node, method, apiPath, params = {}, token = "") {
  const query = new URLSearchParams(token ? { accessToken: token } : {});
  const init = { method };
  if (method === "GET" || method === "DELETE") {
    for (const [name, value] of Object.entries(params)) query.set(name, value);
  } else {
    init.body = new URLSearchParams(params);
  }
  const response = await fetch(`${node.base}/nacos${apiPath}?${query}`, init);
  const text = await response.text();
  return { status: response.status, text, json: () => JSON.parse(text) };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/**
 * A page whose JavaScript errors, failed requests and unexpected HTTP errors are recorded;
 * `guard.allow(status, urlPart)` declares one the test provokes on purpose, and
 * `guard.check()` fails the test with everything else.
 */
export async function guardedPage(browser, { width = 1280, height = 860 } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, acceptDownloads: true });
  const page = await context.newPage();
  const problems = [];
  const allowed = [];
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (message) => {
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) problems.push(`console error: ${message.text()}`);
  });
  page.on("requestfailed", (request) => {
    // A download's navigation is aborted by the browser when the file is saved instead.
    if (request.failure()?.errorText === "net::ERR_ABORTED" && /export(V2)?=true/.test(request.url())) return;
    problems.push(`request failed: ${request.method()} ${request.url()} ${request.failure()?.errorText}`);
  });
  page.on("response", (response) => {
    if (response.status() < 400) return;
    const url = response.url();
    if (allowed.some(([status, part]) => status === response.status() && url.includes(part))) return;
    problems.push(`HTTP ${response.status()}: ${response.request().method()} ${url}`);
  });
  const guard = {
    allow(status, urlPart) {
      allowed.push([status, urlPart]);
    },
    check() {
      if (problems.length) throw new Error(`problems in the page:\n${problems.join("\n")}`);
    },
  };
  return { page, context, guard };
}

/** Saves a screenshot of the page as `name.png` under SHOTS. */
export async function shot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** Logs in through the login page. */
export async function login(page, base, username = "nacos", password = ADMIN_PASSWORD) {
  await page.goto(`${base}/`);
  await page.waitForURL(/#\/login/);
  await page.getByLabel("User name").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByTestId("username").waitFor();
}

/**
 * A test file's shared set-up: one nacosd with auth on, one browser and the administrator's
 * token, made before the file's tests (then `seed` runs with them) and stopped after.
 */
export function useAuthNode(seed) {
  const ready = {};
  before(async () => {
    ready.node = await startNacosd({ auth: true });
    ready.browser = await launchBrowser();
    ready.token = await adminToken(ready.node);
    await seed(ready);
  });
  after(async () => {
    await ready.browser?.close();
    await ready.node?.stop();
  });
}
