// Calls to the portal's API (/portaal/api/), through the console's call():
// the same CSRF header and error shape, with the portal's own token.
import { call, APIError } from '../api.js';

/** The portal API's root path. */
export const P = '/portaal/api';

/**
 * Calls the portal's API; an answer "too large" from the server's body
 * limit becomes the error the page words ("too_large"), whatever the
 * layer that refused it called it.
 * @param {string} method
 * @param {string} path relative to /portaal/api
 * @param {any} [body] JSON, or a FormData sent as multipart
 */
async function portalCall(method, path, body) {
  try {
    return await call(method, P + path, body);
  } catch (err) {
    if (err instanceof APIError && err.status === 413) err.code = 'too_large';
    throw err;
  }
}

export const portal = {
  /** @param {string} path */
  get: (path) => portalCall('GET', path),
  /** @param {string} path @param {any} [body] */
  post: (path, body) => portalCall('POST', path, body),
  /** @param {string} path @param {any} body */
  put: (path, body) => portalCall('PUT', path, body),
};
