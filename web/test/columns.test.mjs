// Columnar chart updates (docs/protocol.md §1.7, §2.2 `cols`): the page decodes the base64
// float64 columns straight into a series, with the same trimming and gaps as `points`.
import test from 'node:test';
import assert from 'node:assert/strict';
import { DashboardState, base64Bytes } from '../state.js';

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
