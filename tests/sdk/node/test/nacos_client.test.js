'use strict';
// The `nacos` npm client (HTTP v1: config long polling, naming with beats and polling)
// against a real nacosd.

const assert = require('node:assert/strict');
const { after, before, test } = require('node:test');
const { NacosConfigClient, NacosNamingClient } = require('nacos');
const { startServer, waitUntil } = require('../lib/server');

const GROUP = 'DEFAULT_GROUP';
const quiet = { info() {}, warn() {}, debug() {}, error() {}, log() {} };
let server;
const closers = [];

before(async () => {
  server = await startServer();
});

after(() => {
  stopping = true;
  for (const close of closers) close();
  server.stop();
});

// A long poll in flight when the server stops fails after the tests are over; that is the
// teardown, not a finding.
let stopping = false;
process.on('uncaughtException', err => {
  if (stopping && err.name === 'NacosLongPullingError') return;
  throw err;
});

function uniq(tag) {
  return `${tag}-${Math.random().toString(16).slice(2, 10)}`;
}

function configClient() {
  const client = new NacosConfigClient({ serverAddr: server.addr, requestTimeout: 6000 });
  closers.push(() => client.close());
  return client;
}

async function namingClient() {
  const client = new NacosNamingClient({ logger: quiet, serverList: server.addr, namespace: 'public' });
  await client.ready();
  closers.push(() => client.close());
  return client;
}

test('config: publish, get, remove', async () => {
  const client = configClient();
  const dataId = uniq('node-cfg');
  assert.equal(await client.getConfig(dataId, GROUP), null);
  assert.equal(await client.publishSingle(dataId, GROUP, 'k=v\n值=✓'), true);
  assert.equal(await client.getConfig(dataId, GROUP), 'k=v\n值=✓');
  assert.equal(await client.remove(dataId, GROUP), true);
  assert.equal(await client.getConfig(dataId, GROUP), null);
});

test('config: a subscriber hears a publish by another client', async () => {
  const watcher = configClient();
  const dataId = uniq('node-watch');
  await watcher.publishSingle(dataId, GROUP, 'v1');
  const seen = [];
  watcher.subscribe({ dataId, group: GROUP }, content => seen.push(content));
  await waitUntil(() => seen.includes('v1'), 10000, 'initial content delivered');
  const other = configClient();
  await other.publishSingle(dataId, GROUP, 'v2');
  await waitUntil(() => seen.includes('v2'), 10000, 'v2 delivered to the subscriber');
});

test('naming: register, list, subscribe, deregister', async () => {
  const client = await namingClient();
  const service = uniq('node-svc');
  await client.registerInstance(service, { ip: '127.30.0.101', port: 8080, metadata: { zone: 'z1' } });
  const listed = await client.getAllInstances(service, GROUP, '', false);
  assert.deepEqual(listed.map(h => `${h.ip}:${h.port}`), ['127.30.0.101:8080']);
  assert.equal(listed[0].metadata.zone, 'z1');

  const updates = [];
  client.subscribe(service, hosts => updates.push(hosts.map(h => h.ip).sort()));
  const other = await namingClient();
  await other.registerInstance(service, { ip: '127.30.0.102', port: 8080 });
  await waitUntil(() => updates.some(ips => ips.includes('127.30.0.102')), 15000, 'subscriber saw the new instance');

  await other.deregisterInstance(service, { ip: '127.30.0.102', port: 8080 });
  await waitUntil(async () => {
    const left = await client.getAllInstances(service, GROUP, '', false);
    return left.length === 1 && left[0].ip === '127.30.0.101';
  }, 5000, 'deregistered instance gone');
});

test('naming: the server status probe answers UP', async () => {
  const client = await namingClient();
  assert.equal(await client.getServerStatus(), 'UP');
});
