// The management API from the browser: JSON over fetch with HTTP Basic credentials kept in
// sessionStorage (gone when the tab closes), as RabbitMQ's UI keeps them for its session.

const KEY = 'pier.credentials';

export class ApiError extends Error {
  constructor(status, error, reason) {
    super(reason || error || `HTTP ${status}`);
    this.status = status;
    this.error = error;
    this.reason = reason;
  }
}

let onUnauthorized = () => {};

export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

export function credentials() {
  return sessionStorage.getItem(KEY);
}

export function saveCredentials(user, password) {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  sessionStorage.setItem(KEY, btoa(String.fromCharCode(...bytes)));
}

export function forgetCredentials() {
  sessionStorage.removeItem(KEY);
}

/** `%2F` for the vhost `/`, and every other name encoded as one path segment. */
export const enc = (name) => encodeURIComponent(name);

/** A request to the API; the reply's JSON (undefined for 204), or an ApiError with the API's reason. */
export async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  const auth = credentials();
  if (auth) headers.authorization = `Basic ${auth}`;
  const init = { method, headers, credentials: 'omit', cache: 'no-store' };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const text = await res.text();
  let json;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const error = new ApiError(res.status, json?.error, json?.reason ?? text.slice(0, 200));
    if (res.status === 401 && path !== '/api/whoami') onUnauthorized(error);
    throw error;
  }
  return json;
}

export const get = (path) => api('GET', path);
