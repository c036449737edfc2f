/**
 * The web UI's static files (src/management/ui, copied next to this module by `npm run build`),
 * served on the API port outside /api and /metrics. The files are listed once at start: only a
 * listed file is ever read, so no request path can reach outside the folder; a path that tries
 * (`..` or `.` segments, encoded slashes or backslashes, NUL) is refused with 400 anyway, and any
 * other unknown path is 404.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { badRequest, objectNotFound } from './errors.js';

/** The UI's folder beside the compiled module (dist/src/management/ui). */
export const UI_ROOT = fileURLToPath(new URL('./ui/', import.meta.url));

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/** Scripts, styles and requests only from this origin; no framing (the UI acts with the user's credentials). */
const CONTENT_SECURITY_POLICY =
  "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

export interface StaticFile {
  readonly contentType: string;
  readonly bytes: Buffer;
  readonly headers: Readonly<Record<string, string>>;
}

export class StaticFiles {
  private readonly files = new Map<string, StaticFile>();

  /** Lists and reads `root`'s files (a missing folder serves nothing: the API still works). */
  constructor(root: string = UI_ROOT) {
    for (const path of listFiles(root)) {
      const contentType = CONTENT_TYPES[extname(path)];
      if (contentType === undefined) continue;
      const bytes = readFileSync(path);
      const name = relative(root, path).split(sep).join('/');
      this.files.set(name, {
        contentType,
        bytes,
        headers: {
          'Content-Type': contentType,
          'Content-Length': String(bytes.length),
          'Cache-Control': 'no-cache',
          'X-Content-Type-Options': 'nosniff',
          ...(contentType.startsWith('text/html')
            ? { 'Content-Security-Policy': CONTENT_SECURITY_POLICY, 'X-Frame-Options': 'DENY' }
            : {}),
        },
      });
    }
  }

  get size(): number {
    return this.files.size;
  }

  /**
   * The file for a request path (`/` is index.html); 400 for a path that tries to leave the
   * folder, 404 for one that names no file.
   */
  lookup(rawPath: string): StaticFile {
    const segments = rawPath.split('/').filter((s) => s !== '');
    const names: string[] = [];
    for (const segment of segments) {
      let name: string;
      try {
        name = decodeURIComponent(segment);
      } catch {
        throw badRequest('malformed percent-encoding in the path');
      }
      if (name === '.' || name === '..' || /[/\\\0:]/.test(name))
        throw badRequest(`the path segment '${segment}' is not allowed in a file path`);
      names.push(name);
    }
    const file = this.files.get(names.length === 0 ? 'index.html' : names.join('/'));
    if (!file) throw objectNotFound();
    return file;
  }
}

function listFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

/** Whether a request path belongs to the API (or /metrics) rather than the UI, judged on decoded segments. */
export function isApiPath(rawPath: string): boolean {
  const first = rawPath.split('/').find((s) => s !== '');
  if (first === undefined) return false;
  let name: string;
  try {
    name = decodeURIComponent(first);
  } catch {
    return true; // the router answers 400
  }
  return name === 'api' || name === 'metrics';
}
