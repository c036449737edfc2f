// Copies the web UI's static files (src/management/ui) next to the compiled management API
// (dist/src/management/ui), which serves them; `npm run build` runs it after tsc.
import { cpSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const from = fileURLToPath(new URL('../src/management/ui', import.meta.url));
const to = fileURLToPath(new URL('../dist/src/management/ui', import.meta.url));
rmSync(to, { recursive: true, force: true });
cpSync(from, to, { recursive: true });
