// Calls to the relay's JSON API. State-changing calls carry the login's
// CSRF token.

let csrfToken = '';

/** @param {string} token */
export function setCSRF(token) { csrfToken = token; }

export class APIError extends Error {
  /** @param {number} status @param {{error?: string, message?: string, field?: string, retryAfter?: number}} body */
  constructor(status, body) {
    super(body.message || 'HTTP ' + status);
    this.status = status;
    this.code = body.error || 'internal';
    this.field = body.field;
    this.retryAfter = body.retryAfter;
  }
}

/**
 * @param {string} method
 * @param {string} path
 * @param {any} [body]
 */
export async function call(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET') headers['X-CSRF-Token'] = csrfToken;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  if (res.status === 204) return null;
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new APIError(res.status, data);
  return data;
}
