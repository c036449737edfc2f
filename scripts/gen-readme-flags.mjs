#!/usr/bin/env node
// Writes README.md's table of `pier serve` flags (between its serve-flags markers) from the
// settings table, src/config/settings.ts. Needs the build: npm run build first.
// Usage: node scripts/gen-readme-flags.mjs [--check]
// --check writes nothing and exits 1 if the committed table differs from the declarations.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.slice(2).includes('--check');
const compiled = resolve(root, 'dist/src/cli/serve-flags.js');
if (!existsSync(compiled)) {
  console.error(`${compiled} is missing: run npm run build first`);
  process.exit(1);
}
const { withReadmeFlagTable } = await import(pathToFileURL(compiled).href);
const readmePath = resolve(root, 'README.md');
const readme = readFileSync(readmePath, 'utf8');
const updated = withReadmeFlagTable(readme);

if (!check) {
  if (updated !== readme) writeFileSync(readmePath, updated);
  console.log(updated === readme ? `${readmePath} is up to date` : `wrote the flag table in ${readmePath}`);
} else if (updated !== readme) {
  console.error(
    `the flag table in ${readmePath} differs from src/config/settings.ts: run npm run build && node scripts/gen-readme-flags.mjs`,
  );
  process.exitCode = 1;
}
