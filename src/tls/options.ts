/**
 * TLS settings shared by every TLS listener (amqps, Kafka SSL, SQS HTTPS, management HTTPS): the
 * PEM files, client-certificate policy, protocol floor and cipher list. Types and defaults only;
 * files are read by certificates.ts.
 */

/** The TLS listeners, by the name their per-listener overrides use. */
export const TLS_LISTENERS = ['amqps', 'kafka', 'sqs', 'https'] as const;
export type TlsListenerName = (typeof TLS_LISTENERS)[number];

/** RabbitMQ's `verify`/`fail_if_no_peer_cert`, Kafka's `ssl.client.auth` (none|requested|required). */
export type ClientCertPolicy = 'none' | 'optional' | 'required';

/** Where AMQP EXTERNAL takes the user name from (RabbitMQ's `ssl_cert_login_from`). */
export type CertLoginFrom = 'distinguished_name' | 'common_name';

export type TlsMinVersion = 'TLSv1.2' | 'TLSv1.3';

/** PEM files: a certificate chain, its key, and the CA bundle client certificates are checked against. */
export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile?: string | undefined;
}

/** `<listener>:<cert.pem>:<key.pem>[:<ca.pem>]`: another certificate for one listener. */
export interface TlsListenerOverride extends Partial<TlsFiles> {
  readonly listener: TlsListenerName;
}

/** `<server-name>:<cert.pem>:<key.pem>`: the certificate for clients asking for that name (SNI). */
export interface TlsSniCertificate extends TlsFiles {
  readonly serverName: string;
}

export interface TlsOptions {
  /** PEM certificate (chain) of every TLS listener (`--tls-cert`); TLS listeners are off without one. */
  certFile?: string;
  /** PEM private key of `certFile` (`--tls-key`). */
  keyFile?: string;
  /** PEM CA bundle client certificates must chain to (`--tls-ca`); needed to verify clients. */
  caFile?: string;
  /** Ask for and check client certificates (`--tls-client-cert`). */
  clientCert?: ClientCertPolicy;
  /** Oldest TLS version accepted (`--tls-min-version`). */
  minVersion?: TlsMinVersion;
  /** OpenSSL cipher list for TLS 1.2 (`--tls-ciphers`); TLS 1.3 suites are all AEAD. */
  ciphers?: string;
  /** A handshake not done in this time is dropped (slow-loris). */
  handshakeTimeoutMs?: number;
  /** Another certificate (and CA) for one listener (`--tls-listener-cert`). */
  listenerCerts?: readonly TlsListenerOverride[];
  /** A certificate per server name asked for in the ClientHello (`--tls-sni-cert`). */
  sniCerts?: readonly TlsSniCertificate[];
  /** AMQP EXTERNAL's user: the subject's DN or its CN (`--tls-cert-login-from`). */
  certLoginFrom?: CertLoginFrom;
  /** Kafka's ssl.principal.mapping.rules for principals from client certificates. */
  kafkaPrincipalMappingRules?: string;
}

/**
 * ECDHE key exchange with AEAD ciphers only (Mozilla's "intermediate" TLS 1.2 list): forward
 * secrecy, no CBC, RC4, 3DES, SHA-1 MACs or static RSA key exchange.
 */
export const DEFAULT_TLS_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export const DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS = 10_000;
