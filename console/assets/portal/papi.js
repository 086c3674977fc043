// Calls to the portal's API (/portaal/api/), through the console's call():
// the same CSRF header and error shape, with the portal's own token.
import { call } from '../api.js';

/** The portal API's root path. */
export const P = '/portaal/api';

/**
 * Calls the portal's API.
 * @param {string} method
 * @param {string} path relative to /portaal/api
 * @param {any} [body] JSON, or a FormData sent as multipart
 */
function portalCall(method, path, body) {
  return call(method, P + path, body);
}

export const portal = {
  /** @param {string} path */
  get: (path) => portalCall('GET', path),
  /** @param {string} path @param {any} [body] */
  post: (path, body) => portalCall('POST', path, body),
  /** @param {string} path @param {any} body */
  put: (path, body) => portalCall('PUT', path, body),
};
