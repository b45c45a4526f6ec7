import type { EventOptions } from '../../core/event.js';
import type { Logger } from '../../core/log.js';
import type { Registry } from '../../core/metrics.js';
import type { Alerting } from '../alerts/index.js';
import type { Classification } from '../classification/index.js';
import type { Ingest } from '../ingest.js';
import type { Store } from '../store/store.js';
import type { ReadLimits } from './query.js';

export type Role = 'read' | 'write' | 'admin';
export const ROLE_RANK: Record<Role, number> = { read: 1, write: 2, admin: 3 };

/** What every API route may use. */
export interface ApiContext {
  store: Store;
  ingest: Ingest;
  /** alerts and silences (absent: those routes answer 404) */
  alerting?: Alerting;
  metrics: Registry;
  log: Logger;
  /** makeEvent rules of POST /events [source always api, no time bounds] */
  events?: EventOptions;
  /** false until the store is open and state is loaded */
  ready(): boolean;
  /** the server's clock (relative `since=15m`) [Date.now] */
  now?: () => number;
  /** desired state and check sets (absent: those routes answer 404) */
  classification?: Classification;
  /** bounds of every read (server.limits); DEFAULT_READ_LIMITS when absent */
  reads?: ReadLimits;
}

declare module 'fastify' {
  interface FastifyContextConfig { role?: Role; /** served without a token (dashboard assets) */ public?: boolean }
  interface FastifyRequest { role?: Role }
}
