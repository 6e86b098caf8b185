'use strict';
// The `nacos` npm client against nacosd with auth on: it sends its user name and password
// with every request. (A wrong password is in its own file: the client shares its
// credentials between the instances of one process.)

const assert = require('node:assert/strict');
const { after, before, test } = require('node:test');
const { NacosConfigClient, NacosNamingClient } = require('nacos');
const { startServer } = require('../lib/server');

const GROUP = 'DEFAULT_GROUP';
const ADMIN_PASSWORD = 'Adm1n-pw';
const quiet = { info() {}, warn() {}, debug() {}, error() {}, log() {} };
let server;
const closers = [];

before(async () => {
  server = await startServer(['--auth-enabled', '--auth-token-secret', 'U2VjcmV0S2V5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=',
    '--auth-admin-password', ADMIN_PASSWORD]);
});

after(() => {
  for (const close of closers) close();
  server.stop();
});

function uniq(tag) {
  return `${tag}-${Math.random().toString(16).slice(2, 10)}`;
}

function configClient(password) {
  const client = new NacosConfigClient({ serverAddr: server.addr, requestTimeout: 6000, username: 'nacos', password });
  closers.push(() => client.close());
  return client;
}

test('config with the right password: publish and get', async () => {
  const client = configClient(ADMIN_PASSWORD);
  const dataId = uniq('node-auth');
  assert.equal(await client.publishSingle(dataId, GROUP, 'k=v'), true);
  assert.equal(await client.getConfig(dataId, GROUP), 'k=v');
});

test('naming with the right password: register and list', async () => {
  const client = new NacosNamingClient({ logger: quiet, serverList: server.addr, namespace: 'public',
    username: 'nacos', password: ADMIN_PASSWORD });
  await client.ready();
  closers.push(() => client.close());
  const service = uniq('node-auth-svc');
  await client.registerInstance(service, { ip: '127.24.0.101', port: 8080 });
  const hosts = await client.getAllInstances(service);
  assert.deepEqual(hosts.map(host => host.ip), ['127.24.0.101']);
  await client.deregisterInstance(service, { ip: '127.24.0.101', port: 8080 });
});
