/**
 * Composes the TLS listeners: one certificate set (per-listener overrides and per-server-name
 * certificates allowed) checked at start, the listeners each protocol asks for, the identities
 * client certificates give (AMQP EXTERNAL's user, Kafka's SSL principal), and reloading the files
 * (SIGHUP, `pier tls reload`) with every file checked before any listener takes them.
 */
import { constants as cryptoConstants } from 'node:crypto';
import type { SecureContext, SecureContextOptions, TLSSocket } from 'node:tls';
import { createSecureContext } from 'node:tls';
import type { ResolvedBrokerOptions } from '../config/settings.js';
import { loadTlsMaterial, type TlsMaterial, TlsMaterialError } from '../tls/certificates.js';
import { verifiedPeerSubject } from '../tls/client-identity.js';
import type { ClientCertPolicy, TlsFiles, TlsListenerName } from '../tls/options.js';
import { mapPrincipal, PrincipalRuleError, parsePrincipalRules } from '../tls/principal-mapping.js';
import { TlsListener } from '../tls/tls-listener.js';
import { type BoundAddress, BrokerConfigError, bindListener } from './listener.js';

export interface BoundTlsListener extends BoundAddress {
  /** Stops accepting; resolves once its connections are gone (the protocol closes them). */
  close(): Promise<void>;
}

/** What a reload installed, per running listener. */
export interface TlsReloadReport {
  readonly listeners: ReadonlyArray<{
    readonly listener: TlsListenerName;
    readonly subject: string;
    readonly fingerprint256: string;
    readonly validTo: string;
  }>;
}

/** Kafka's principal for a TLS client: a name, none (no certificate), or a refusal. */
export type KafkaCertificatePrincipal = { readonly name: string } | { readonly refused: string } | undefined;

export interface TlsParts {
  /** True when a certificate was given (--tls-cert): TLS listeners may start. */
  readonly enabled: boolean;
  readonly clientCert: ClientCertPolicy;
  listen(
    listener: TlsListenerName,
    flag: string,
    host: string,
    port: number,
    accept: (socket: TLSSocket) => void,
  ): Promise<BoundTlsListener>;
  /** Reads every file again; all good: every listener takes them; else throws TlsMaterialError. */
  reload(): TlsReloadReport;
  /** AMQP EXTERNAL's user name from a verified client certificate (ssl_cert_login_from). */
  externalUser(socket: unknown): string | undefined;
  /** Kafka's principal from a verified client certificate (ssl.principal.mapping.rules). */
  kafkaPrincipal(socket: unknown): KafkaCertificatePrincipal;
}

export function composeTls(options: ResolvedBrokerOptions['tls'], log: (line: string) => void): TlsParts {
  const enabled = options.certFile !== undefined;
  if (options.certFile !== undefined && options.keyFile === undefined) {
    throw new BrokerConfigError('tls: --tls-cert needs its private key (--tls-key)');
  }
  if (options.certFile === undefined && options.keyFile !== undefined) {
    throw new BrokerConfigError('tls: --tls-key was given without a certificate (--tls-cert)');
  }
  let rules: ReturnType<typeof parsePrincipalRules>;
  try {
    rules = parsePrincipalRules(options.kafkaPrincipalMappingRules);
  } catch (error) {
    if (error instanceof PrincipalRuleError) throw new BrokerConfigError(`kafka: ${error.message}`);
    throw error;
  }
  const filesFor = (listener: TlsListenerName): TlsFiles => {
    const override = options.listenerCerts.find((o) => o.listener === listener);
    return {
      certFile: override?.certFile ?? options.certFile!,
      keyFile: override?.keyFile ?? options.keyFile!,
      caFile: override?.caFile ?? options.caFile,
    };
  };
  const shared = {
    minVersion: options.minVersion,
    ciphers: options.ciphers,
    honorCipherOrder: true,
    // TLS 1.2 renegotiation (client-initiated: a DoS lever) is refused by OpenSSL with an alert.
    secureOptions: cryptoConstants.SSL_OP_NO_RENEGOTIATION,
  } as const;
  const contextOptions = (material: TlsMaterial): SecureContextOptions => ({
    ...shared,
    cert: material.cert,
    key: material.key,
    ...(material.ca ? { ca: material.ca } : {}),
  });
  const loadSni = (): Map<string, SecureContext> => {
    const contexts = new Map<string, SecureContext>();
    for (const sni of options.sniCerts) {
      const material = loadTlsMaterial(
        { caFile: options.caFile, ...sni },
        `--tls-sni-cert ${sni.serverName}`,
      );
      contexts.set(sni.serverName.toLowerCase(), createSecureContext(contextOptions(material)));
    }
    return contexts;
  };
  const running = new Map<TlsListenerName, { listener: TlsListener; material: TlsMaterial }>();
  let sniContexts = new Map<string, SecureContext>();
  const checkStart = (listener: TlsListenerName): TlsMaterial => {
    try {
      const files = filesFor(listener);
      if (options.clientCert !== 'none' && files.caFile === undefined) {
        throw new TlsMaterialError(
          `--tls-client-cert ${options.clientCert} needs the CA client certificates are checked against (--tls-ca)`,
        );
      }
      const material = loadTlsMaterial(files, listener === 'amqps' ? '--tls-cert' : `${listener} TLS`);
      if (running.size === 0) sniContexts = loadSni();
      return material;
    } catch (error) {
      if (error instanceof TlsMaterialError) throw new BrokerConfigError(`tls: ${error.message}`);
      throw error;
    }
  };
  return {
    enabled,
    clientCert: options.clientCert,
    async listen(name, flag, host, port, accept) {
      if (!enabled) {
        throw new BrokerConfigError(
          `tls: ${flag} needs a certificate and key (--tls-cert, --tls-key); 'pier tls dev-cert --out DIR' makes a development set`,
        );
      }
      const material = checkStart(name);
      const listener = new TlsListener({
        name: flag.replace(/^--|-port$/g, ''),
        context: contextOptions(material),
        clientCert: options.clientCert,
        handshakeTimeoutMs: options.handshakeTimeoutMs,
        sniContext:
          options.sniCerts.length > 0 ? (serverName) => sniContexts.get(serverName.toLowerCase()) : undefined,
        accept,
        log,
      });
      const bound = await bindListener(name, flag, host, port, (h, p) => listener.listen(h, p));
      running.set(name, { listener, material });
      return { ...bound, close: () => listener.close() };
    },
    reload() {
      // Everything is read and checked first: one bad file and nothing changes.
      let loaded: Array<[TlsListenerName, TlsMaterial]>;
      let newSni: Map<string, SecureContext>;
      try {
        loaded = [...running.keys()].map((name) => [name, loadTlsMaterial(filesFor(name), `${name} TLS`)]);
        newSni = loadSni();
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        log(`tls: reload refused, the certificates in use are kept: ${message}`);
        throw error instanceof TlsMaterialError ? error : new TlsMaterialError(message);
      }
      for (const [name, material] of loaded) {
        const entry = running.get(name)!;
        entry.listener.setSecureContext(contextOptions(material));
        entry.material = material;
      }
      sniContexts = newSni;
      const report = loaded.map(([listener, m]) => ({
        listener,
        subject: m.subject.replace(/\n/g, ', '),
        fingerprint256: m.fingerprint256,
        validTo: m.validTo,
      }));
      for (const r of report) {
        log(`tls: ${r.listener} reloaded: ${r.subject}, sha256 ${r.fingerprint256}, valid to ${r.validTo}`);
      }
      return { listeners: report };
    },
    externalUser(socket) {
      const subject = verifiedPeerSubject(socket);
      if (!subject) return undefined;
      return options.certLoginFrom === 'common_name' ? subject.commonName : subject.distinguishedName;
    },
    kafkaPrincipal(socket) {
      const subject = verifiedPeerSubject(socket);
      if (!subject) return undefined;
      const name = mapPrincipal(rules, subject.distinguishedName);
      return name === undefined
        ? { refused: `no ssl.principal.mapping.rules rule applies to '${subject.distinguishedName}'` }
        : { name };
    },
  };
}
