import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { alertIdentity, MAX_RETRY_AFTER_MS, parseRetryAfter } from './notifier.js';

test('Retry-After: delta-seconds and HTTP dates become a delay in ms, clamped to [0, 1 h]; anything else is no hint', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('7', now), 7000);
  assert.equal(parseRetryAfter(' 0 ', now), 0);
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000);
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0, 'a date in the past: retry now');
  assert.equal(parseRetryAfter('86400', now), MAX_RETRY_AFTER_MS);
  for (const v of [null, undefined, '', '-5', '1.5', 'soon', '12345678901234']) assert.equal(parseRetryAfter(v, now), undefined, String(v));
});

test('property: Retry-After never throws and is undefined or within [0, 1 h]', () => {
  fc.assert(fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.nat().map(String), fc.date({ noInvalidDate: true }).map((d) => d.toUTCString())), fc.integer({ min: 0, max: 4e12 }), (v, now) => {
    const ms = parseRetryAfter(v, now);
    assert.ok(ms === undefined || (Number.isFinite(ms) && ms >= 0 && ms <= MAX_RETRY_AFTER_MS), `${v} → ${ms}`);
  }), { numRuns: 2000 });
});

test('the alert identity is stable per rule, host and service, differs between them, and fits PagerDuty and Opsgenie limits', () => {
  fc.assert(fc.property(fc.string(), fc.string(), fc.string(), (rule, host, service) => {
    const id = alertIdentity({ rule, host, service });
    assert.equal(id, alertIdentity({ rule, host, service }));
    assert.match(id, /^blick-[0-9a-f]{40}$/);
    assert.notEqual(id, alertIdentity({ rule, host: host + 'x', service }));
  }));
});
