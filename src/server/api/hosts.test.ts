import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HostRule, parseHost } from './hosts.js';

const label = fc.stringMatching(/^[a-zA-Z0-9]([a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?$/);
const dnsName = fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.'));
const port = fc.integer({ min: 1, max: 65535 });

test('parseHost splits name and port, lower-cases the name, and never throws', () => {
  fc.assert(fc.property(dnsName, fc.option(port, { nil: undefined }), (name, p) => {
    assert.deepEqual(parseHost(p === undefined ? name : `${name}:${p}`), { name: name.toLowerCase(), port: p });
  }));
  fc.assert(fc.property(fc.ipV6(), port, (ip, p) => {
    assert.deepEqual(parseHost(`[${ip}]:${p}`), { name: `[${ip.toLowerCase()}]`, port: p });
  }));
  fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => {
    const h = parseHost(s);
    if (h) assert.doesNotMatch(h.name, /[\s/@\\?#]/, 'no user info, path or query slips into a name');
  }));
  for (const bad of ['evil.example:99999', 'user@127.0.0.1:80', '127.0.0.1:80/x', '', ':80', 'a b:1']) assert.equal(parseHost(bad), undefined, bad);
});

test('a HostRule admits exactly loopback names on the arrival port, the arrival address, and the configured names', () => {
  const rule = new HostRule({ listenHost: '127.0.0.1', names: ['Blick.Example.org', 'ops.example.org:8443'], strict: true, tls: false });
  fc.assert(fc.property(dnsName, port, (name, p) => {
    const configured = name.toLowerCase() === 'blick.example.org' || (name.toLowerCase() === 'ops.example.org' && p === 8443);
    const loopback = ['localhost', '127.0.0.1'].includes(name.toLowerCase()) && p === 8080;
    assert.equal(rule.names(parseHost(`${name}:${p}`)!, '127.0.0.1', 8080), configured || loopback, `${name}:${p}`);
  }));
  assert.ok(rule.names(parseHost('[::1]:8080')!, '::1', 8080));
  assert.ok(rule.names(parseHost('10.1.2.3:8080')!, '::ffff:10.1.2.3', 8080), 'the address the connection came to');
  assert.ok(!rule.names(parseHost('localhost')!, '127.0.0.1', 8080), 'no port means 80 on http');
});
