import assert from 'node:assert/strict';
import { DEFAULT_TIME_BOUNDS, EVENT_LIMITS, STATES, type BlickEvent } from '../event.js';

/** Everything the edge rules promise about an event makeEvent returned. */
export function assertEdgeEvent(e: BlickEvent, now: number, sources: readonly string[]): void {
  const names = [e.host, e.service, e.id, ...e.tags, ...Object.keys(e.attributes)];
  for (const n of names) assert.ok(n.isWellFormed() && !/[\u0000-\u001f\u007f-\u009f]/.test(n), `name ${JSON.stringify(n)}`);
  assert.ok(e.host.length > 0 && e.host.length <= EVENT_LIMITS.hostLength && e.service.length > 0 && e.service.length <= EVENT_LIMITS.serviceLength);
  assert.ok(e.description.isWellFormed() && Object.values(e.attributes).every((v) => typeof v === 'string' && v.isWellFormed()));
  assert.ok(e.metric === undefined || Number.isFinite(e.metric), `metric ${e.metric}`);
  assert.ok(e.ttl === undefined || (Number.isFinite(e.ttl) && e.ttl > 0 && e.ttl <= EVENT_LIMITS.maxTtlSeconds), `ttl ${e.ttl}`);
  assert.ok(Number.isSafeInteger(e.time) && e.time >= DEFAULT_TIME_BOUNDS.minTime && e.time <= now + DEFAULT_TIME_BOUNDS.maxFutureSkewMs, `time ${e.time}`);
  assert.ok(sources.includes(e.source), `source ${e.source}`);
  assert.ok(e.state === undefined || (STATES as readonly string[]).includes(e.state));
  assert.ok(e.tags.length <= EVENT_LIMITS.tags && Object.keys(e.attributes).length <= EVENT_LIMITS.attributes + 1);
}

