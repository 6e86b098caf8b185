'use strict';
// The `nacos` npm client with a wrong password against nacosd with auth on: its writes are
// refused and nothing is written. Its own process (file): the client shares credentials
// between the instances of one process.

const assert = require('node:assert/strict');
const { after, before, test } = require('node:test');
const { NacosConfigClient } = require('nacos');
const { startServer } = require('../lib/server');

let server;
let client;

before(async () => {
  server = await startServer(['--auth-enabled', '--auth-token-secret', 'U2VjcmV0S2V5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=',
    '--auth-admin-password', 'Adm1n-pw']);
  client = new NacosConfigClient({ serverAddr: server.addr, requestTimeout: 2000, username: 'nacos', password: 'wrong' });
});

after(() => {
  client.close();
  server.stop();
});

test('config with a wrong password: refused, nothing written', async () => {
  await assert.rejects(client.publishSingle('node-refused', 'DEFAULT_GROUP', 'x'), /403/);
  const login = await fetch(`${server.url}/nacos/v1/auth/login`, {
    method: 'POST',
    body: new URLSearchParams({ username: 'nacos', password: 'Adm1n-pw' }),
  });
  const { accessToken } = await login.json();
  const read = await fetch(`${server.url}/nacos/v1/cs/configs?dataId=node-refused&group=DEFAULT_GROUP&accessToken=${accessToken}`);
  assert.equal(read.status, 404);
});
