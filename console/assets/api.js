// Calls to the relay's JSON API (/api/v1/). State-changing calls carry the
// login's CSRF token; the browser adds our Origin.

/** The API's root path. */
export const API = '/api/v1';

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
    /** The API's own explanation, in English; "" when it gave none. */
    this.detail = body.message || '';
  }
}

/**
 * Calls the API. `path` is absolute ("/api/v1/...").
 * @param {string} method
 * @param {string} path
 * @param {any} [body]
 */
export async function call(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = {};
  // A FormData (files) goes as multipart, with the boundary the browser sets.
  const multipart = body instanceof FormData;
  if (body !== undefined && !multipart) headers['Content-Type'] = 'application/json';
  if (method !== 'GET') headers['X-CSRF-Token'] = csrfToken;
  const payload = body === undefined || multipart ? body : JSON.stringify(body);
  const res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
  if (res.status === 204) return null;
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new APIError(res.status, data);
  return data;
}

/**
 * Builds a query string from the non-empty values.
 * @param {Record<string, string|number|undefined|null>} params
 */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? '?' + s : '';
}

/** Shorthands with paths relative to /api/v1. */
export const api = {
  /** @param {string} path */
  get: (path) => call('GET', API + path),
  /** @param {string} path @param {any} [body] */
  post: (path, body) => call('POST', API + path, body),
  /** @param {string} path @param {any} body */
  put: (path, body) => call('PUT', API + path, body),
  /** @param {string} path @param {any} body */
  patch: (path, body) => call('PATCH', API + path, body),
};
