#!/usr/bin/env node
// The installed command: runs the compiled CLI (npm ci / npm run build write dist/).
import { main } from '../dist/main.js';

main(process.argv.slice(2), process.env).then(
  (code) => { if (typeof code === 'number') process.exitCode = code; },
  (err) => { console.error(err instanceof Error ? err.stack : String(err)); process.exitCode = 1; },
);
