// The page's decoder of columnar table updates (web/table-columns.js), on messages built here
// byte by byte as docs/protocol.md §1.8 lays them out; the shared fixtures cover the rest.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tableColumnsOps } from '../table-columns.js';

/**
 * An SVT1 message: text keys and one float64 column v.
 * @param {string[]} keys
 * @param {number[]} v
 */
function svt1(keys, v) {
  const enc = new TextEncoder();
  const head = enc.encode(JSON.stringify({ n: keys.length, columns: ['v'], types: ['f64'] }));
  const keyBytes = keys.map((k) => enc.encode(k));
  const size = 8 + head.length + 4 * keys.length + keyBytes.reduce((s, b) => s + b.length, 0) + 8 * v.length;
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out.set(enc.encode('SVT1'), 0);
  dv.setUint32(4, head.length, true);
  out.set(head, 8);
  let off = 8 + head.length;
  for (const b of keyBytes) { dv.setUint32(off, b.length, true); off += 4; }
  for (const b of keyBytes) { out.set(b, off); off += b.length; }
  for (const x of v) { dv.setFloat64(off, x, true); off += 8; }
  return out;
}

test('a text key beginning with U+FEFF keeps it, as the server keys the row', () => {
  const ops = tableColumnsOps(svt1(['\ufeffk', 'k', '\ufeff'], [1, 2, 3]));
  assert.deepEqual(ops, [
    { key: '\ufeffk', row: { v: 1 } },
    { key: 'k', row: { v: 2 } },
    { key: '\ufeff', row: { v: 3 } },
  ]);
});
