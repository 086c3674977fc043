// The verification code (SAS) of the technician's WebRTC connection, as
// internal/sas derives it (docs/protocol.md, "Verification code"): six
// digits from the two DTLS certificates this connection actually used,
// read from getStats(), never from the SDP a relay could have rewritten.
// The customer's page shows the agent's code; equal codes mean one
// connection end to end.

const LABEL = new TextEncoder().encode('meekijk sas v1');

// SHA-256 (FIPS 180-4) in plain JavaScript: WebCrypto's digest exists only
// in secure contexts, and a desk may open its relay's console over plain
// HTTP on its own network; the code must show there too.
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/**
 * @param {Uint8Array} data
 * @returns {Uint8Array} the 32-byte digest
 */
export function sha256(data) {
  const bitLen = data.length * 8;
  const padded = new Uint8Array(((data.length + 9 + 63) >> 6) << 6);
  padded.set(data);
  padded[data.length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(bitLen / 2 ** 32));
  view.setUint32(padded.length - 4, bitLen >>> 0);
  const hv = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const w = new Uint32Array(64);
  const rotr = (/** @type {number} */ x, /** @type {number} */ n) => (x >>> n) | (x << (32 - n));
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + 4 * i);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, h] = hv;
    for (let i = 0; i < 64; i++) {
      const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      h = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
    }
    hv[0] += a; hv[1] += b; hv[2] += c; hv[3] += d; hv[4] += e; hv[5] += f; hv[6] += g; hv[7] += h;
  }
  const out = new Uint8Array(32);
  const ov = new DataView(out.buffer);
  hv.forEach((x, i) => ov.setUint32(4 * i, x));
  return out;
}

/**
 * Parses a certificate fingerprint as RTCCertificateStats gives it: SHA-256,
 * hex pairs with colons.
 * @param {string|undefined} algorithm
 * @param {string|undefined} value
 * @returns {Uint8Array}
 */
export function parseFingerprint(algorithm, value) {
  if ((algorithm || '').toLowerCase() !== 'sha-256' || !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){31}$/.test(value || '')) {
    throw new Error('not a sha-256 certificate fingerprint: ' + algorithm + ' ' + value);
  }
  return new Uint8Array(String(value).split(':').map((x) => parseInt(x, 16)));
}

/**
 * The code of two fingerprints, in either order.
 * @param {Uint8Array} a
 * @param {Uint8Array} b
 * @returns {Promise<string>} six digits
 */
export async function deriveCode(a, b) {
  let first = a, second = b;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      if (a[i] > b[i]) [first, second] = [b, a];
      break;
    }
  }
  const input = new Uint8Array(LABEL.length + first.length + second.length);
  input.set(LABEL);
  input.set(first, LABEL.length);
  input.set(second, LABEL.length + first.length);
  const h = new DataView(sha256(input).buffer);
  return String(h.getBigUint64(0) % 1000000n).padStart(6, '0');
}

/**
 * The code of `pc`'s DTLS connection, or '' while it has none (DTLS not
 * yet up).
 * @param {RTCPeerConnection} pc
 * @returns {Promise<string>}
 */
export async function connectionCode(pc) {
  const stats = await pc.getStats();
  /** @type {any} */
  let transport = null;
  stats.forEach((s) => {
    if (s.type === 'transport' && s.dtlsState === 'connected' && s.localCertificateId && s.remoteCertificateId) transport = s;
  });
  if (!transport) return '';
  const local = stats.get(transport.localCertificateId);
  const remote = stats.get(transport.remoteCertificateId);
  if (!local || !remote) return '';
  return deriveCode(parseFingerprint(local.fingerprintAlgorithm, local.fingerprint),
    parseFingerprint(remote.fingerprintAlgorithm, remote.fingerprint));
}

const COMMIT_LABEL = new TextEncoder().encode('meekijk sas commit v1');

/**
 * The commitment to a certificate the agent gets before it offers
 * (internal/sas.Commitment): hex SHA-256 of a label and the fingerprint.
 * @param {RTCCertificate} cert
 * @returns {Promise<string>}
 */
export async function commitment(cert) {
  const fp = cert.getFingerprints().find((f) => (f.algorithm || '').toLowerCase() === 'sha-256');
  const bytes = parseFingerprint(fp && fp.algorithm, fp && fp.value);
  const input = new Uint8Array(COMMIT_LABEL.length + bytes.length);
  input.set(COMMIT_LABEL);
  input.set(bytes, COMMIT_LABEL.length);
  return Array.from(sha256(input), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** @param {string} code @returns {string} as read out: "842 420" */
export function spaced(code) { return code.slice(0, 3) + ' ' + code.slice(3); }
