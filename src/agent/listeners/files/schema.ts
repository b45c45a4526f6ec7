import { z } from 'zod';
import { zDuration } from '../../../core/config.js';

const STATES = ['ok', 'warning', 'critical', 'unknown'] as const;

/** One watched path or glob. */
export const fileEntrySchema = z.strictObject({
  /** a file, a directory (its direct entries), or a glob: `*` within a directory, `**` across directories */
  path: z.string().min(1).refine((p) => p.startsWith('/'), 'must be an absolute path'),
  /** compute the SHA-256 of regular files and report when the content changed (default false) */
  hash: z.boolean().default(false),
  /** files larger than this are not hashed (bytes, default 64 MiB) */
  max_hash_bytes: z.number().int().positive().default(64 * 1024 * 1024),
  /** the state of a change event (default warning) */
  state: z.enum(STATES).default('warning'),
  /** after this long with no new change to a path, send an ok event for it (default: never) */
  resolve_after: zDuration.optional(),
  /** changes to one path within this window become one event (default 100ms) */
  debounce: zDuration.default(100),
  tags: z.array(z.string()).default([]),
});

/** `agent.files`: a list of watched paths. */
export const filesSchema = z.array(fileEntrySchema);
export type FileEntry = z.output<typeof fileEntrySchema>;
