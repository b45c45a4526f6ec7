import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { TestContext } from 'node:test';
import { inCI } from '../fixtures/ci.js';

export const run = promisify(execFile);

/**
 * A test that needs a program or service that is missing: in CI (CI=true or CI=1) that
 * is a failure with a clear message, elsewhere the test is skipped with the reason.
 */
export function missing(t: TestContext, what: string, hint: string): void {
  const msg = `${what} is not available (${hint})`;
  if (inCI()) throw new Error(`${msg}; CI must provide it`);
  t.skip(msg);
}

/** True when `program` can be executed (found on PATH). */
export async function hasProgram(program: string): Promise<boolean> {
  try { await run('sh', ['-c', 'command -v "$1"', 'sh', program]); return true; } catch { return false; }
}
