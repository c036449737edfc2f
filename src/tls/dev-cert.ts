/**
 * `pier tls dev-cert --out DIR`: a development CA, a server certificate for localhost, 127.0.0.1
 * and ::1, and a client certificate, made with the openssl command (Debian's `openssl` package;
 * preinstalled on macOS and most Linux systems) so Pier needs no X.509 library. An existing
 * ca.pem + ca-key.pem in DIR is reused, so certificates made later chain to the same CA.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DevCertOptions {
  readonly outDir: string;
  /** The client certificate's CN (its subject is `CN=<name>,O=Pier development`). */
  readonly clientCommonName?: string;
  readonly days?: number;
  /** The openssl executable. */
  readonly openssl?: string;
}

export interface DevCertFiles {
  readonly ca: string;
  readonly caKey: string;
  readonly server: string;
  readonly serverKey: string;
  readonly client: string;
  readonly clientKey: string;
  readonly caReused: boolean;
}

export class DevCertError extends Error {
  override readonly name = 'DevCertError';
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function makeDevCertificates(options: DevCertOptions): DevCertFiles {
  const openssl = options.openssl ?? 'openssl';
  const days = String(options.days ?? 825);
  const clientCn = options.clientCommonName ?? 'guest';
  const run = (args: string[]) => {
    try {
      execFileSync(openssl, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (error) {
      const e = error as NodeJS.ErrnoException & { stderr?: Buffer };
      if (e.code === 'ENOENT') {
        throw new DevCertError(
          `'${openssl}' was not found: pier tls dev-cert makes certificates with the openssl command; install it (Debian/Ubuntu: apt-get install openssl) and run again`,
        );
      }
      throw new DevCertError(`openssl ${args[0]} failed: ${String(e.stderr ?? e.message).trim()}`);
    }
  };
  mkdirSync(options.outDir, { recursive: true, mode: 0o700 });
  const out = (name: string) => join(options.outDir, name);
  const files: Omit<DevCertFiles, 'caReused'> = {
    ca: out('ca.pem'),
    caKey: out('ca-key.pem'),
    server: out('server.pem'),
    serverKey: out('server-key.pem'),
    client: out('client.pem'),
    clientKey: out('client-key.pem'),
  };
  const caReused = existsSync(files.ca) && existsSync(files.caKey);
  const work = mkdtempSync(join(options.outDir, '.dev-cert-'));
  try {
    if (!caReused) {
      run([
        'req',
        '-x509',
        ...EC_KEY,
        '-keyout',
        files.caKey,
        '-out',
        files.ca,
        '-days',
        days,
        '-subj',
        '/O=Pier development/CN=Pier development CA',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ]);
    }
    const sign = (name: string, subject: string, extensions: string, certFile: string, keyFile: string) => {
      const csr = join(work, `${name}.csr`);
      const ext = join(work, `${name}.ext`);
      writeFileSync(ext, extensions);
      run(['req', '-new', ...EC_KEY, '-keyout', keyFile, '-out', csr, '-subj', subject]);
      run([
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        files.ca,
        '-CAkey',
        files.caKey,
        '-set_serial',
        `0x${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`,
        '-days',
        days,
        '-sha256',
        '-extfile',
        ext,
        '-out',
        certFile,
      ]);
    };
    sign(
      'server',
      '/O=Pier development/CN=localhost',
      [
        'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth',
        '',
      ].join('\n'),
      files.server,
      files.serverKey,
    );
    sign(
      'client',
      `/O=Pier development/CN=${clientCn.replace(/[/\\]/g, '\\$&')}`,
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=clientAuth',
        '',
      ].join('\n'),
      files.client,
      files.clientKey,
    );
    for (const key of [files.caKey, files.serverKey, files.clientKey]) chmodSync(key, 0o600);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { ...files, caReused };
}
