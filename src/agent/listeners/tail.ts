import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { encodeUlid } from '../../core/ids.js';
import { RateLimitedLog, type Logger } from '../../core/log.js';

/** Options of {@link FileTail}. */
export interface FileTailOptions {
  /** the file to follow (it may not exist yet) */
  path: string;
  /**
   * complete lines, in order, as they are read (without the newline), each with
   * where it came from (see {@link lineEventId})
   */
  onLines(lines: string[], origins: LineOrigin[]): void;
  /** called when the followed file was rotated (a new file at the path) or truncated */
  onReset?(why: 'rotated' | 'truncated'): void;
  /** read the file from its beginning instead of its end when starting (default false, like `tail -F`) */
  fromBeginning?: boolean;
  /**
   * Safety net beside inotify: how often to stat the file anyway (default 1000 ms).
   * inotify events on the directory make reading immediate; this catches what a
   * watch can miss (the directory replaced, NFS, watch limits).
   */
  pollMs?: number;
  /** a line longer than this is cut and delivered in pieces (default 1 MiB) */
  maxLineBytes?: number;
  /**
   * where to remember how far the file was read (inode and offset after the last
   * delivered line), saved every second and at stop. At the next start the file is
   * resumed there, so lines written while the agent was down are not lost; if the
   * file was rotated meanwhile, the old inode is looked for in the same directory,
   * read to its end, then the new file from its start.
   */
  stateFile?: string;
  log?: Logger;
}

const CHUNK = 64 * 1024;

/**
 * Where a delivered line came from: the file (inode), the byte offset of its
 * first byte, and the read epoch. A new epoch begins whenever offsets start
 * over (a new file, a truncation, a start without a saved position), so no two
 * lines share an origin; the position file keeps it, so a line read again
 * after a crash has the same origin as the first time.
 */
export interface LineOrigin { ino: number; offset: number; epoch: number }

/**
 * The event id of a line (or of an entry that starts at that line): a ULID
 * whose time is the epoch and whose random part is a hash of file, offset and
 * `salt` (host and listener: what tells listeners on the same file apart). A
 * line read again after a crash gets the same id, so the server drops the
 * repeat as a duplicate instead of storing the event twice.
 */
export function lineEventId(origin: LineOrigin, salt: string): string {
  return encodeUlid(origin.epoch, createHash('sha1').update(`${salt}\u0000${origin.ino}\u0000${origin.offset}`).digest());
}

/**
 * Follows one file the way `tail -F` does: rotation aware (the path now names
 * another inode: the old file is read to its end, then the new one from its
 * start), truncation aware (the size fell below the read position: start over),
 * and a line is only delivered once its newline has been written, so a torn
 * write at the end of the file waits for the rest.
 *
 * Shared by the log-pattern and MySQL slow-log listeners.
 */
export class FileTail {
  private fh: FileHandle | undefined;
  private ino = -1;
  private pos = 0;
  private partial = '';
  private decoder = new StringDecoder('utf8');
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly pollMs: number;
  private readonly maxLine: number;
  private readonly buf = Buffer.allocUnsafe(CHUNK);
  /** byte offset just after the last delivered line (what a restart resumes from) */
  private delivered = 0;
  /** the consumer's unfinished lines start here (see {@link keepFrom}) */
  private kept: LineOrigin | undefined;
  /** the epoch of lines delivered now (see {@link LineOrigin}) */
  private epoch = 0;
  /** `delivered` at the previous save */
  private lastTick = 0;
  private savedAt = '';
  private saveTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: FileTailOptions) {
    this.pollMs = opts.pollMs ?? 1000;
    this.maxLine = opts.maxLineBytes ?? 1024 * 1024;
  }

  /** Opens the file (when it exists) and starts following it. */
  async start(): Promise<void> {
    this.stopped = false;
    const saved = this.loadState();
    if (saved?.epoch !== undefined) this.epoch = saved.epoch;
    if (!saved || !(await this.resume(saved))) {
      if (await this.openCurrent(this.opts.fromBeginning ? 'start' : 'end')) this.restartOffsets();
      else this.newEpoch();
    }
    this.watchDir();
    this.timer = setInterval(() => this.poke(), this.pollMs);
    this.timer.unref();
    if (this.opts.stateFile) {
      this.saveTimer = setInterval(() => this.saveState(), 1000);
      this.saveTimer.unref();
    }
  }

  private loadState(): { ino: number; pos: number; epoch?: number } | undefined {
    if (!this.opts.stateFile) return undefined;
    try {
      const s = JSON.parse(readFileSync(this.opts.stateFile, 'utf8')) as { ino?: unknown; pos?: unknown; path?: unknown; epoch?: unknown };
      if (typeof s.ino === 'number' && typeof s.pos === 'number' && s.pos >= 0 && s.path === this.opts.path) {
        return { ino: s.ino, pos: s.pos, ...(typeof s.epoch === 'number' && Number.isSafeInteger(s.epoch) && s.epoch > 0 ? { epoch: s.epoch } : {}) };
      }
    } catch { /* none yet, or unreadable: start as configured */ }
    return undefined;
  }

  /** A new read epoch: later than every earlier one, so no line origin repeats. */
  private newEpoch(): void {
    this.epoch = Math.max(Date.now(), this.epoch + 1);
  }

  /**
   * Saves the position a restart resumes from, with the epoch. While the agent
   * runs, the position lags one save: the lines delivered since the previous
   * save may still be on their way to the spool, so a crash reads them again
   * (and the server drops the repeats by id) rather than losing them. At stop it
   * is where delivery ended. A line the consumer keeps (see {@link keepFrom})
   * holds the position back.
   */
  private saveWarn?: RateLimitedLog;

  private saveState(opts: { force?: boolean; final?: boolean } = {}): void {
    const settled = opts.final ? this.delivered : Math.min(this.lastTick, this.delivered);
    this.lastTick = this.delivered;
    if (!this.opts.stateFile || this.ino < 0) return;
    const kept = this.kept && this.kept.ino === this.ino ? this.kept.offset : Infinity;
    const pos = Math.min(kept, settled);
    const text = JSON.stringify({ path: this.opts.path, ino: this.ino, pos, epoch: this.epoch });
    if (text === this.savedAt && !opts.force) return;
    try {
      mkdirSync(dirname(this.opts.stateFile), { recursive: true });
      writeFileSync(this.opts.stateFile + '.tmp', text);
      renameSync(this.opts.stateFile + '.tmp', this.opts.stateFile);
      this.savedAt = text;
    } catch (err) {
      // once a second while the disk is full: rate limited, with the count of the ones held back
      if (this.opts.log) (this.saveWarn ??= new RateLimitedLog(this.opts.log)).warn('save-position', { err: (err as Error).message, path: this.opts.path }, 'cannot save the read position');
    }
  }

  /**
   * The consumer has not finished the lines from `origin` on (a slow-log entry
   * waiting for its statement): a restart resumes there, so they are read again
   * whole. `undefined` when everything delivered is finished.
   */
  keepFrom(origin: LineOrigin | undefined): void {
    this.kept = origin;
  }

  /**
   * Offsets start over (another file, or this one truncated): a new epoch, saved
   * before anything more is read, so that no new line has an earlier line's origin.
   */
  private restartOffsets(): void {
    this.kept = undefined;
    this.newEpoch();
    this.lastTick = this.delivered;
    this.saveState({ force: true });
  }

  /** Continue where the last run stopped; false when the saved position does not apply. */
  private async resume(saved: { ino: number; pos: number; epoch?: number }): Promise<boolean> {
    let current;
    try { current = await stat(this.opts.path); } catch { current = undefined; }
    if (current && current.ino === saved.ino) {
      if (current.size < saved.pos) return false; // truncated while we were away
      if (!(await this.openCurrent('start'))) return false;
      this.pos = this.delivered = this.lastTick = saved.pos;
      return true;
    }
    // rotated while we were away: finish the old file if it is still in the directory
    const dir = dirname(this.opts.path);
    let names: string[] = [];
    try { names = await readdir(dir); } catch { /* gone */ }
    for (const name of names) {
      const p = join(dir, name);
      let st;
      try { st = await stat(p); } catch { continue; }
      if (st.ino !== saved.ino || st.size < saved.pos) continue;
      const fh = await open(p, 'r').catch(() => undefined);
      if (!fh) continue;
      this.fh = fh;
      this.ino = st.ino;
      this.pos = this.delivered = this.lastTick = saved.pos;
      await this.drain();
      this.flushPartial();
      await fh.close().catch(() => {});
      this.fh = undefined;
      this.opts.onReset?.('rotated');
      break;
    }
    if (await this.openCurrent('start')) { this.restartOffsets(); await this.drain(); }
    return true;
  }

  /** Stops following and closes the file. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.saveTimer) clearInterval(this.saveTimer);
    this.saveTimer = undefined;
    this.watcher?.close();
    this.watcher = undefined;
    await this.running?.catch(() => {});
    this.saveState({ final: true });
    await this.fh?.close().catch(() => {});
    this.fh = undefined;
  }

  /** Read what is new now (also called by the watcher and the poll timer). Resolves when read. */
  poke(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) { this.again = true; return this.running; }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.check();
        } while (this.again && !this.stopped);
      } catch (err) {
        this.opts.log?.warn({ err, path: this.opts.path }, 'reading the followed file failed; retrying');
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  private watchDir(): void {
    const name = basename(this.opts.path);
    try {
      this.watcher = watch(dirname(this.opts.path), { persistent: false }, (_ev, file) => {
        if (file === null || file === name) void this.poke();
      });
      this.watcher.on('error', () => { this.watcher?.close(); this.watcher = undefined; });
    } catch {
      // the directory does not exist (yet): the poll timer covers it, and retries the watch
      this.watcher = undefined;
    }
  }

  private async openCurrent(at: 'start' | 'end'): Promise<boolean> {
    let fh: FileHandle;
    try {
      fh = await open(this.opts.path, 'r');
    } catch {
      return false;
    }
    const st = await fh.stat();
    this.fh = fh;
    this.ino = st.ino;
    this.pos = this.delivered = at === 'end' ? st.size : 0;
    this.partial = '';
    this.decoder = new StringDecoder('utf8');
    return true;
  }

  private async check(): Promise<void> {
    if (!this.watcher && !this.stopped) this.watchDir();
    if (!this.fh) {
      // the file did not exist: it appears → read it from the start
      if (await this.openCurrent('start')) { this.restartOffsets(); await this.drain(); }
      return;
    }
    const st = await this.fh.stat();
    if (st.size < this.pos) {
      // truncated in place (copytruncate, `> file`): start over
      this.flushPartial();
      this.pos = this.delivered = 0;
      this.opts.onReset?.('truncated');
      this.restartOffsets();
    }
    await this.drain();
    let current;
    try { current = await stat(this.opts.path); } catch { current = undefined; }
    if (current && current.ino !== this.ino) {
      // rotated: the old inode has been read to its end above; switch to the new file
      this.flushPartial();
      await this.fh.close().catch(() => {});
      this.fh = undefined;
      this.opts.onReset?.('rotated');
      if (await this.openCurrent('start')) { this.restartOffsets(); await this.drain(); }
    }
  }

  private async drain(): Promise<void> {
    const fh = this.fh;
    if (!fh) return;
    for (;;) {
      const { bytesRead } = await fh.read(this.buf, 0, CHUNK, this.pos);
      if (bytesRead === 0) break;
      this.pos += bytesRead;
      this.split(this.decoder.write(this.buf.subarray(0, bytesRead)));
      if (this.stopped) break;
    }
  }

  private split(text: string): void {
    let start = 0;
    const lines: string[] = [];
    const origins: LineOrigin[] = [];
    const at = () => ({ ino: this.ino, offset: this.delivered, epoch: this.epoch });
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      let line = text.slice(start, nl);
      if (this.partial) { line = this.partial + line; this.partial = ''; }
      origins.push(at());
      this.delivered += Buffer.byteLength(line) + 1;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      lines.push(line);
      start = nl + 1;
    }
    if (start < text.length) {
      this.partial += text.slice(start);
      if (this.partial.length > this.maxLine) {
        origins.push(at());
        this.delivered += Buffer.byteLength(this.partial);
        lines.push(this.partial);
        this.partial = '';
      }
    }
    if (lines.length > 0) this.opts.onLines(lines, origins);
  }

  /** The old file ended without a newline: deliver what it had. */
  private flushPartial(): void {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    this.decoder = new StringDecoder('utf8');
    if (rest.length > 0) {
      const origin = { ino: this.ino, offset: this.delivered, epoch: this.epoch };
      this.delivered += Buffer.byteLength(rest);
      this.opts.onLines([rest], [origin]);
    }
  }
}
