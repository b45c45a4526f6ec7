import { fileURLToPath } from 'node:url';

/** The testdata folder of an observer, from its compiled test (dist/… or dist-agent/… mirror src/…). */
export function testdataDir(observer: string): string {
  return fileURLToPath(new URL(`../../../../src/agent/observers/${observer}/testdata/`, import.meta.url));
}
