#!/usr/bin/env node
// The Node.js entry of `blick` (bin/blick starts it with the right node flags);
// everything lives in the compiled CLI (npm run build).
import('../dist/src/cli/main.js').then((m) => m.main(process.argv.slice(2))).catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/src/cli')) {
    process.stderr.write('blick: not built yet; run `npm run build` (or `npm start`) first\n');
    process.exit(1);
  }
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exit(1);
});
