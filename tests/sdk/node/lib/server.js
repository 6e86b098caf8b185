'use strict';
// Starts one nacosd for a test file: a fresh data dir, free ports, the binary from
// NACOSD_BIN (default target/debug/nacosd).

const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..', '..', '..');

function free(port) {
  return new Promise(resolve => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function pickPort() {
  for (let port = 48100; port < 55000; port += 13) {
    if (await free(port) && await free(port + 1000) && await free(port + 1001)) return port;
  }
  throw new Error('no free port triple');
}

/** `extraArgs` go to nacosd (e.g. the auth flags). */
async function startServer(extraArgs = []) {
  const binary = process.env.NACOSD_BIN || path.join(ROOT, 'target', 'debug', 'nacosd');
  const port = await pickPort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nacosd-node-'));
  const log = fs.openSync(path.join(dir, 'server.log'), 'w');
  const args = ['--http-port', String(port), '--bind', '127.0.0.1', '--data-dir', path.join(dir, 'data'), ...extraArgs];
  const child = spawn(binary, args,
    { stdio: ['ignore', log, log] });
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(async () => {
    try {
      return (await fetch(`${url}/nacos/v1/console/health/readiness`)).ok;
    } catch {
      return false;
    }
  }, 30000, `nacosd on ${port} (log ${dir}/server.log)`);
  return { addr: `127.0.0.1:${port}`, url, stop: () => child.kill('SIGTERM') };
}

/** Polls `check` until it resolves truthy; rejects after `timeoutMs`. */
async function waitUntil(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise(resolve => setTimeout(resolve, 50));
  }
}

module.exports = { startServer, waitUntil };
