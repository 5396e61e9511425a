// Columnar chart updates (docs/protocol.md §1.7, §2.2 `cols`): the page decodes the base64
// float64 columns straight into a series, with the same trimming and gaps as `points`.
import test from 'node:test';
import assert from 'node:assert/strict';
import { DashboardState, base64Bytes } from '../state.js';
import { decodeBinaryFrame } from '../frames.js';

/** base64 of little-endian float64 values, as the server sends a column. */
const col = (...vs) => Buffer.from(new Float64Array(vs).buffer).toString('base64');

function setup(config = {}) {
  const s = new DashboardState();
  s.apply([{ type: 'snapshot', epoch: 'E', seq: 1, reset: false, title: '', theme: null,
    widgets: [{ id: 'c', config: { type: 'chart', max_points: 3, ...config }, state: { points: [] } }] }]);
  let seq = 1;
  const send = (data) => s.apply([{ type: 'data', seq: seq + 1, prev: seq++, id: 'c', data }]);
  const pts = (name = '') => s.widgets.get('c').state.series.get(name)?.points() ?? [];
  return { s, send, pts };
}

test('a cols event appends its points in order, NaN y as a gap, keeping max_points', () => {
  const { s, send, pts } = setup();
  const res = send({ series: '', mode: 'append', cols: { n: 5, x: col(1, 2, 3, 4, 5), y: col(10, 20, NaN, 40, 50) } });
  assert.equal(res.applied, 1);
  assert.deepEqual(pts(), [[3, null], [4, 40], [5, 50]]);
  assert.equal(s.widgets.get('c').state.received, 5);
  send({ series: 'b', mode: 'append', cols: { n: 1, x: col(1.5e12), y: col(-0.25) }, as_of: 9 });
  assert.deepEqual(pts('b'), [[1.5e12, -0.25]]);
  assert.equal(s.widgets.get('c').asOf, 9);
  // Columns and points mix in one series, in arrival order.
  send({ series: '', mode: 'append', points: [[6, 60]] });
  assert.deepEqual(pts(), [[4, 40], [5, 50], [6, 60]]);
});

test('a cols event whose columns do not hold n values each is ignored whole', () => {
  const { send, pts } = setup();
  send({ series: '', cols: { n: 2, x: col(1, 2), y: col(1) } });
  send({ series: '', cols: { n: 1, x: 'not base64!', y: col(1) } });
  send({ series: '', cols: { n: -1, x: '', y: '' } });
  send({ series: '', cols: { n: 0, x: '', y: '' } });
  assert.deepEqual(pts(), []);
});

test('base64Bytes decodes what Buffer encodes, and refuses what is not base64', () => {
  const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.deepEqual(base64Bytes(Buffer.from(bytes).toString('base64')), bytes);
  assert.equal(base64Bytes('@@@'), null);
});

/**
 * A binary frame (protocol.md §2.4) as the server builds one: "SVB1", the JSON's length, the JSON
 * with each columnar event's cols as {n, at}, zeros to a multiple of 8, then x and y of each.
 * @param {object[]} events  data events; those with `xs`/`ys` become columnar
 */
function binaryFrame(events) {
  const parts = [];
  let at = 0;
  const json = events.map(({ xs, ys, ...ev }) => {
    if (!xs) return ev;
    const f = new Float64Array([...xs, ...ys]);
    parts.push(new Uint8Array(f.buffer));
    const cols = { n: xs.length, at };
    at += f.byteLength;
    return { ...ev, data: { ...ev.data, cols } };
  });
  const js = new TextEncoder().encode(JSON.stringify(json));
  const base = Math.ceil((8 + js.length) / 8) * 8;
  const out = new Uint8Array(base + at);
  out.set(new TextEncoder().encode('SVB1'));
  new DataView(out.buffer).setUint32(4, js.length, true);
  out.set(js, 8);
  let off = base;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out.buffer;
}

test('a binary frame gives the same points as the base64 columns, events without columns in between', () => {
  const { s, pts } = setup({ max_points: 10 });
  const frame = binaryFrame([
    { type: 'data', seq: 2, prev: 1, id: 'c', data: { series: '', mode: 'append' }, xs: [1, 2, 3], ys: [10, NaN, 30] },
    { type: 'data', seq: 3, prev: 2, id: 'c', data: { series: '', mode: 'append', points: [[4, 40]] } },
    { type: 'data', seq: 4, prev: 3, id: 'c', data: { series: 'b', mode: 'append', as_of: 7 }, xs: [5], ys: [-1] },
  ]);
  const res = s.apply(decodeBinaryFrame(frame));
  assert.equal(res.gap, false);
  assert.equal(res.applied, 3);
  assert.deepEqual(pts(), [[1, 10], [2, null], [3, 30], [4, 40]]);
  assert.deepEqual(pts('b'), [[5, -1]]);
  assert.equal(s.widgets.get('c').asOf, 7);
});

test('a binary frame whose columns lie outside it, or that is not one, is refused whole', () => {
  const good = new Uint8Array(binaryFrame([{ type: 'data', seq: 2, prev: 1, id: 'c', data: { series: '' }, xs: [1, 2], ys: [3, 4] }]));
  assert.throws(() => decodeBinaryFrame(good.slice(0, good.length - 8).buffer), /outside the frame/);
  const other = good.slice();
  other[0] = 0x5b; // '['
  assert.throws(() => decodeBinaryFrame(other.buffer), /not a binary frame/);
  const short = good.slice();
  new DataView(short.buffer).setUint32(4, 1 << 20, true);
  assert.throws(() => decodeBinaryFrame(short.buffer), /bytes of JSON/);
});
