/**
 * Server-side AWS Signature Version 4 verification for the SQS listener: pure, over the request as
 * received (raw path and query, lowercased headers, body bytes). It rebuilds the canonical request from
 * only the SignedHeaders the client named, so it accepts both the JS SDK (which signs many headers)
 * and botocore (which signs content-type;host;x-amz-date). Both the Authorization header form and the
 * presigned query-string form are accepted.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { hexDigest } from '../../util/digest.js';

export interface SigV4Request {
  method: string;
  /** Path as sent on the wire, still percent-encoded, without the query. */
  path: string;
  /** Raw query string without the leading '?', still percent-encoded ('' when none). */
  query: string;
  /** Lowercased names as Node's IncomingMessage gives them. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: Buffer;
}

export type SigV4ErrorCode =
  | 'SignatureDoesNotMatch'
  | 'InvalidClientTokenId'
  | 'IncompleteSignature'
  | 'MissingAuthenticationToken'
  | 'RequestExpired';

export interface SigV4Error {
  ok: false;
  code: SigV4ErrorCode;
  message: string;
}

export interface SigV4Ok {
  ok: true;
  accessKeyId: string;
  region: string;
  service: string;
}

export interface SigV4Options {
  /** Loopback mode without configured keys: any well-formed, unexpired signature is accepted. */
  acceptAnySignature?: boolean;
  /** AWS refuses header-signed requests more than 15 minutes away from its clock. */
  maxClockSkewMs?: number;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const DEFAULT_MAX_SKEW_MS = 15 * 60_000;
/** Presigned URLs may live at most 7 days (X-Amz-Expires ≤ 604800). */
const MAX_PRESIGN_EXPIRES_SECONDS = 604_800;
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

const MISMATCH_MESSAGE =
  'The request signature we calculated does not match the signature you provided. ' +
  'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

function fail(code: SigV4ErrorCode, message: string): SigV4Error {
  return { ok: false, code, message };
}

/** The parts of a signature, whichever form carried them. */
interface SignatureParts {
  accessKeyId: string;
  scopeDate: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  amzDate: string;
  /** Presigned only: seconds of validity from amzDate. */
  expiresSeconds?: number;
}

/**
 * A signature with everything that needs no secret done: parsed, its time checked, the canonical
 * request hashed into the strings to sign. This is the costly part (SHA-256 of the body and of the
 * canonical request, URI encoding), so the SQS listener's HTTP thread does it, and the main thread,
 * which holds the secrets, finishes with `checkSigV4` (one HMAC).
 */
export interface SigV4Prepared extends SigV4Ok {
  scopeDate: string;
  /** The hex signature the client sent. */
  signature: string;
  /** The strings one of which the signature must sign (a presigned URL may sign either payload). */
  stringsToSign: string[];
  /** The client declared a body hash that is not the body's: a tampered body. */
  payloadMismatch: boolean;
}

export function verifySigV4(
  request: SigV4Request,
  lookupSecret: (accessKeyId: string) => string | undefined,
  nowMs: number,
  options: SigV4Options = {},
): SigV4Ok | SigV4Error {
  const prepared = prepareSigV4(request, nowMs, options);
  return prepared.ok ? checkSigV4(prepared, lookupSecret, options) : prepared;
}

/** Parses and time-checks a request's signature and builds what it must sign (no secret needed). */
export function prepareSigV4(
  request: SigV4Request,
  nowMs: number,
  options: SigV4Options = {},
): SigV4Prepared | SigV4Error {
  const authorization = headerValue(request.headers, 'authorization');
  const queryParams = parseQuery(request.query);
  const presigned = queryParams.some(([k]) => k === 'X-Amz-Signature' || k === 'X-Amz-Credential');
  let parts: (SignatureParts & { ok: true }) | SigV4Error;
  if (authorization !== undefined) parts = partsFromHeader(authorization, request.headers);
  else if (presigned) parts = partsFromQuery(queryParams);
  else return fail('MissingAuthenticationToken', 'Request is missing Authentication Token');
  if (!parts.ok) return parts;

  const dateMs = parseAmzDate(parts.amzDate);
  if (dateMs === undefined) {
    return fail(
      'IncompleteSignature',
      `Date must be in ISO-8601 'basic format'. Got '${parts.amzDate}'. See http://en.wikipedia.org/wiki/ISO_8601`,
    );
  }
  if (parts.amzDate.slice(0, 8) !== parts.scopeDate) {
    return fail(
      'SignatureDoesNotMatch',
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${parts.scopeDate}' != '${parts.amzDate.slice(0, 8)}', from '${parts.amzDate}'.`,
    );
  }
  const expired = checkTime(parts, dateMs, nowMs, options.maxClockSkewMs ?? DEFAULT_MAX_SKEW_MS);
  if (expired) return expired;

  const prepared: SigV4Prepared = {
    ok: true,
    accessKeyId: parts.accessKeyId,
    region: parts.region,
    service: parts.service,
    scopeDate: parts.scopeDate,
    signature: parts.signature,
    stringsToSign: [],
    payloadMismatch: false,
  };
  // Loopback mode checks no signature: nothing more to compute.
  if (options.acceptAnySignature) return prepared;

  const bodyHash = sha256Hex(request.body);
  const declaredHash = headerValue(request.headers, 'x-amz-content-sha256');
  // A declared hash that is not the body's would let a tampered body pass with the original signature.
  if (declaredHash !== undefined && declaredHash !== UNSIGNED_PAYLOAD && declaredHash !== bodyHash) {
    prepared.payloadMismatch = true;
    return prepared;
  }
  // Presigners sign either the body hash or UNSIGNED-PAYLOAD: accept whichever matches.
  const payloadHashes =
    declaredHash !== undefined ? [declaredHash] : presigned ? [bodyHash, UNSIGNED_PAYLOAD] : [bodyHash];
  const scope = `${parts.scopeDate}/${parts.region}/${parts.service}/aws4_request`;
  const canonicalHead = [
    request.method.toUpperCase(),
    canonicalPath(request.path),
    canonicalQuery(queryParams, presigned && authorization === undefined),
    canonicalHeaders(parts.signedHeaders, request.headers),
    parts.signedHeaders.join(';'),
  ].join('\n');
  for (const payloadHash of payloadHashes) {
    const canonicalRequest = `${canonicalHead}\n${payloadHash}`;
    prepared.stringsToSign.push(`${ALGORITHM}\n${parts.amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`);
  }
  return prepared;
}

/**
 * Finishes a prepared signature against the caller's secret. The outcome and its order of errors
 * are those of one whole verification: an unknown key id first, then a tampered body, then the
 * signature itself. A preparation made in loopback mode (no strings to sign) passes only in it.
 */
export function checkSigV4(
  prepared: SigV4Prepared,
  lookupSecret: (accessKeyId: string) => string | undefined,
  options: SigV4Options = {},
): SigV4Ok | SigV4Error {
  const ok: SigV4Ok = {
    ok: true,
    accessKeyId: prepared.accessKeyId,
    region: prepared.region,
    service: prepared.service,
  };
  if (options.acceptAnySignature) return ok;
  const secret = lookupSecret(prepared.accessKeyId);
  if (secret === undefined) {
    return fail('InvalidClientTokenId', 'The security token included in the request is invalid.');
  }
  if (prepared.payloadMismatch) return fail('SignatureDoesNotMatch', MISMATCH_MESSAGE);
  const key = signingKey(secret, prepared.scopeDate, prepared.region, prepared.service);
  const provided = Buffer.from(prepared.signature, 'hex');
  for (const stringToSign of prepared.stringsToSign) {
    const expected = createHmac('sha256', key).update(stringToSign, 'utf8').digest();
    if (provided.length === expected.length && timingSafeEqual(provided, expected)) return ok;
  }
  return fail('SignatureDoesNotMatch', MISMATCH_MESSAGE);
}

function partsFromHeader(
  authorization: string,
  headers: SigV4Request['headers'],
): (SignatureParts & { ok: true }) | SigV4Error {
  const space = authorization.indexOf(' ');
  const algorithm = space < 0 ? authorization : authorization.slice(0, space);
  if (algorithm !== ALGORITHM) {
    return fail('IncompleteSignature', `Unsupported AWS 'algorithm': '${algorithm}'`);
  }
  const fields = new Map<string, string>();
  for (const piece of authorization.slice(space + 1).split(',')) {
    const eq = piece.indexOf('=');
    if (eq > 0) fields.set(piece.slice(0, eq).trim(), piece.slice(eq + 1).trim());
  }
  const missing = ['Credential', 'Signature', 'SignedHeaders'].filter((name) => !fields.get(name));
  if (missing.length > 0) {
    const need = missing.map((name) => `Authorization header requires '${name}' parameter.`).join(' ');
    return fail('IncompleteSignature', `${need} Authorization=${authorization}`);
  }
  const amzDate = headerValue(headers, 'x-amz-date') ?? dateHeaderAsAmzDate(headerValue(headers, 'date'));
  if (amzDate === undefined) {
    return fail(
      'IncompleteSignature',
      "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. " +
        `Authorization=${authorization}`,
    );
  }
  return assembleParts(
    fields.get('Credential')!,
    fields.get('SignedHeaders')!,
    fields.get('Signature')!,
    amzDate,
  );
}

function partsFromQuery(params: [string, string][]): (SignatureParts & { ok: true }) | SigV4Error {
  const get = (name: string) => params.find(([k]) => k === name)?.[1];
  const required = [
    'X-Amz-Algorithm',
    'X-Amz-Credential',
    'X-Amz-Signature',
    'X-Amz-SignedHeaders',
    'X-Amz-Date',
  ];
  const missing = required.filter((name) => !get(name));
  if (missing.length > 0) {
    return fail('IncompleteSignature', `AWS query-string parameters missing: ${missing.join(', ')}.`);
  }
  if (get('X-Amz-Algorithm') !== ALGORITHM) {
    return fail('IncompleteSignature', `Unsupported AWS 'algorithm': '${get('X-Amz-Algorithm')}'`);
  }
  const expiresText = get('X-Amz-Expires');
  const expiresSeconds = expiresText === undefined ? MAX_PRESIGN_EXPIRES_SECONDS : Number(expiresText);
  if (
    !Number.isInteger(expiresSeconds) ||
    expiresSeconds < 0 ||
    expiresSeconds > MAX_PRESIGN_EXPIRES_SECONDS
  ) {
    return fail(
      'IncompleteSignature',
      `X-Amz-Expires must be an integer between 0 and ${MAX_PRESIGN_EXPIRES_SECONDS} seconds; got '${expiresText}'.`,
    );
  }
  const parts = assembleParts(
    get('X-Amz-Credential')!,
    get('X-Amz-SignedHeaders')!,
    get('X-Amz-Signature')!,
    get('X-Amz-Date')!,
  );
  if (parts.ok) parts.expiresSeconds = expiresSeconds;
  return parts;
}

function assembleParts(
  credential: string,
  signedHeadersText: string,
  signature: string,
  amzDate: string,
): (SignatureParts & { ok: true }) | SigV4Error {
  // accessKeyId/date/region/service/aws4_request; the key id itself never contains '/'.
  const scope = credential.split('/');
  if (scope.length !== 5 || scope[4] !== 'aws4_request' || !scope[0] || !/^\d{8}$/.test(scope[1]!)) {
    return fail(
      'IncompleteSignature',
      `Credential should be scoped to a valid region, service and date (<key>/<YYYYMMDD>/<region>/<service>/aws4_request); got '${credential}'.`,
    );
  }
  if (!/^[0-9a-f]{64}$/i.test(signature)) {
    return fail('IncompleteSignature', `Signature must be 64 hexadecimal characters; got '${signature}'.`);
  }
  const signedHeaders = signedHeadersText.split(';').map((h) => h.trim().toLowerCase());
  if (!signedHeaders.includes('host')) {
    return fail('SignatureDoesNotMatch', "'Host' must be a 'SignedHeader' in the AWS Authorization.");
  }
  return {
    ok: true,
    accessKeyId: scope[0],
    scopeDate: scope[1]!,
    region: scope[2]!,
    service: scope[3]!,
    signedHeaders: signedHeaders.sort(),
    signature: signature.toLowerCase(),
    amzDate,
  };
}

function checkTime(
  parts: SignatureParts,
  dateMs: number,
  nowMs: number,
  maxSkewMs: number,
): SigV4Error | undefined {
  if (parts.expiresSeconds !== undefined) {
    if (nowMs > dateMs + parts.expiresSeconds * 1000) return fail('RequestExpired', 'Request has expired.');
    if (dateMs - nowMs > maxSkewMs) {
      return fail('RequestExpired', `Request is not yet valid: it is dated ${parts.amzDate}, in the future.`);
    }
    return undefined;
  }
  const skewMinutes = Math.round(maxSkewMs / 60_000);
  if (dateMs < nowMs - maxSkewMs) {
    return fail(
      'RequestExpired',
      `Signature expired: ${parts.amzDate} is now earlier than ${formatAmzDate(nowMs - maxSkewMs)} ` +
        `(${formatAmzDate(nowMs)} - ${skewMinutes} min.)`,
    );
  }
  if (dateMs > nowMs + maxSkewMs) {
    return fail(
      'RequestExpired',
      `Signature not yet current: ${parts.amzDate} is still later than ${formatAmzDate(nowMs + maxSkewMs)} ` +
        `(${formatAmzDate(nowMs)} + ${skewMinutes} min.)`,
    );
  }
  return undefined;
}

function headerValue(headers: SigV4Request['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** YYYYMMDD'T'HHMMSS'Z' → epoch ms, undefined when malformed. */
function parseAmzDate(text: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return undefined;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isNaN(ms) ? undefined : ms;
}

function formatAmzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

function dateHeaderAsAmzDate(date: string | undefined): string | undefined {
  if (date === undefined) return undefined;
  const ms = Date.parse(date);
  return Number.isNaN(ms) ? undefined : formatAmzDate(ms);
}

function sha256Hex(data: Buffer | string): string {
  return hexDigest('sha256', data);
}

/** RFC 3986 encoding as SigV4 wants it: everything but unreserved characters, '/' kept when asked. */
function uriEncode(text: string, keepSlash: boolean): string {
  const encoded = encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return keepSlash ? encoded.replace(/%2F/g, '/') : encoded;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Non-S3 services sign the normalized path encoded once more on top of its wire encoding (the SDKs
 * escape the already-escaped path), so the wire path is encoded again as it is, not decoded first.
 */
function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const trailing = segments.length > 0 && path.endsWith('/') ? '/' : '';
  return uriEncode(`/${segments.join('/')}${trailing}`, true);
}

function parseQuery(query: string): [string, string][] {
  if (query === '') return [];
  const params: [string, string][] = [];
  for (const piece of query.split('&')) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const key = eq < 0 ? piece : piece.slice(0, eq);
    const value = eq < 0 ? '' : piece.slice(eq + 1);
    params.push([safeDecode(key), safeDecode(value)]);
  }
  return params;
}

function canonicalQuery(params: [string, string][], dropSignature: boolean): string {
  const encoded: [string, string][] = [];
  for (const [key, value] of params) {
    if (dropSignature && key === 'X-Amz-Signature') continue;
    encoded.push([uriEncode(key, false), uriEncode(value, false)]);
  }
  encoded.sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0));
  return encoded.map(([k, v]) => `${k}=${v}`).join('&');
}

function canonicalHeaders(signedHeaders: string[], headers: SigV4Request['headers']): string {
  let out = '';
  for (const name of signedHeaders) {
    const raw = headers[name];
    const values = raw === undefined ? [''] : Array.isArray(raw) ? raw : [raw];
    const trimmed = values.map((v) => v.trim().replace(/\s+/g, ' ')).join(',');
    out += `${name}:${trimmed}\n`;
  }
  return out;
}

// Deriving the key costs four HMACs; a client reuses one scope all day, so remember a few.
const keyCache = new Map<string, Buffer>();
const KEY_CACHE_LIMIT = 64;

function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const cacheKey = `${secret}\n${date}\n${region}\n${service}`;
  const cached = keyCache.get(cacheKey);
  if (cached) return cached;
  const kDate = createHmac('sha256', `AWS4${secret}`).update(date).digest();
  const kRegion = createHmac('sha256', kDate).update(region).digest();
  const kService = createHmac('sha256', kRegion).update(service).digest();
  const key = createHmac('sha256', kService).update('aws4_request').digest();
  if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.delete(keyCache.keys().next().value!);
  keyCache.set(cacheKey, key);
  return key;
}
