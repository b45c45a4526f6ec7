// The aggregation thread of worker mode (statsd `workers: 1`): owns the
// MetricStore, parses the raw packets the main thread batches to it, and answers
// flush and admin requests in the order they were posted — so a flush sees
// exactly the packets received before it. Started by WorkerAggregator
// (aggregator.ts) with new Worker(new URL('./worker.js', import.meta.url)).
import { parentPort, workerData } from 'node:worker_threads';
import { RateLimitedLog, type Logger } from '../core/log.js';
import { storeStats, type ToWorker, type FromWorker, type WorkerInit } from './aggregator.js';
import { parsePacket } from './parser.js';
import { deleteStats, MetricStore } from './store.js';

const port = parentPort!;
const init = workerData as WorkerInit;
const sanitize = init.config.keyNameSanitize;
const store = new MetricStore(init.config);
if (init.restore) store.restore(init.restore.data, init.restore.gaugesTTL, init.restore.badLinesTotal, init.restore.droppedTotal);

const post = (m: FromWorker) => port.postMessage(m);
// the same rate limit as single-thread mode; only the lines that get through cross to the main thread
const badLog = new RateLimitedLog({ warn: (obj: Record<string, unknown>, msg: string) => post({ t: 'log', obj, msg }) } as unknown as Logger, 10_000);
store.onBad = (line, reason) => {
  badLog.warn('bad-line', { line: line.length > 200 ? line.slice(0, 200) + '…' : line, reason }, 'bad statsd line');
};

port.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'p': {
      // length-prefixed packets: [u32 LE length][utf8 bytes] …
      const buf = Buffer.from(m.buf, 0, m.len);
      let off = 0;
      while (off < m.len) {
        const n = buf.readUInt32LE(off);
        off += 4;
        store.packet();
        parsePacket(buf.toString('utf8', off, off + n), store, sanitize);
        off += n;
      }
      return;
    }
    case 'bad':
      store.bad(m.line, m.reason);
      return;
    case 'flush':
      store.flush(m.now, (data) => {
        // cloned here, before the store clears itself
        post({ t: 'r', id: m.id, v: { data, gaugesTTL: init.config.deleteGauges ? store.gaugesTTL : undefined, badLinesTotal: store.badLinesTotal, droppedTotal: store.droppedTotal } });
      });
      return;
    case 'metrics':
      post({ t: 'r', id: m.id, v: store[m.kind] });
      return;
    case 'delete':
      post({ t: 'r', id: m.id, v: deleteStats(store[m.kind], m.names) });
      return;
    case 'stats':
      post({ t: 'r', id: m.id, v: storeStats(store) });
      return;
    case 'crash':
      // test hook: an exception nobody catches, as a bug in the worker would throw
      throw new Error('statsd worker: crash requested (test hook)');
  }
});
