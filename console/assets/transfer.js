// Files over the data channel (internal/datachannel): chunks of at most
// 48 KiB, base64 in JSON, in order, then the SHA-256 of the whole file.

export const CHUNK = 48 << 10;
const HIGH_WATER = 1 << 20;

/** @param {Uint8Array} bytes */
function base64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** @param {string} b64 */
export function unbase64(b64) {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** @param {BufferSource} data */
export async function sha256hex(data) {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
  return [...d].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Waits until the channel's queue is below the high-water mark, so a big
 * file neither fills memory nor delays the input sent on the same channel.
 * @param {RTCDataChannel} dc
 */
function drained(dc) {
  if (dc.bufferedAmount <= HIGH_WATER) return Promise.resolve();
  dc.bufferedAmountLowThreshold = HIGH_WATER / 4;
  return new Promise((resolve, reject) => {
    const done = () => { dc.removeEventListener('bufferedamountlow', done); dc.removeEventListener('close', fail); resolve(undefined); };
    const fail = () => { dc.removeEventListener('bufferedamountlow', done); reject(new Error('channel closed')); };
    dc.addEventListener('bufferedamountlow', done);
    dc.addEventListener('close', fail);
  });
}

/**
 * Sends file's bytes as chunks and then file_done.
 * @param {RTCDataChannel} dc
 * @param {string} id
 * @param {Blob} file
 * @param {string} sha
 * @param {() => boolean} cancelled
 */
export async function sendChunks(dc, id, file, sha, cancelled) {
  for (let off = 0; off < file.size; off += CHUNK) {
    if (cancelled()) return;
    await drained(dc);
    const bytes = new Uint8Array(await file.slice(off, off + CHUNK).arrayBuffer());
    dc.send(JSON.stringify({ type: 'file_chunk', data: { id, offset: off, data: base64(bytes) } }));
  }
  dc.send(JSON.stringify({ type: 'file_done', data: { id, sha256: sha } }));
}
