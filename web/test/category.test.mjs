// Category charts (config x_type "category", docs/protocol.md §1.3): the browser keeps one point
// per category under the server's rules and the plot names each category.
import test from 'node:test';
import assert from 'node:assert/strict';
import { DashboardState } from '../state.js';
import { buildCategoryData } from '../chart-data.js';

function board(state) {
  const s = new DashboardState();
  s.apply([{ type: 'snapshot', epoch: 'E', seq: 1, reset: false, title: '', widgets: [
    { id: 'rev', config: { type: 'chart', chart_type: 'bar', x_type: 'category', max_points: 3 }, state },
  ] }]);
  let seq = 1;
  const send = (data) => s.apply([{ type: 'data', id: 'rev', seq: seq + 1, prev: seq++, data }]);
  const w = /** @type {import('../state.js').ChartWidget} */ (s.widgets.get('rev'));
  const named = (name = '') => (w.state.series.get(name)?.points() ?? []).map(([x, y]) => [w.state.categories.names[x], y]);
  return { w, send, named };
}

test('a category chart upserts each category in place and adds new ones after the others, like the server', () => {
  const { send, named } = board({ points: [['eu', 10], ['us', 20]] });
  assert.deepEqual(named(), [['eu', 10], ['us', 20]]);
  send({ series: '', points: [['eu', 12], ['apac', 5]], mode: 'upsert' });
  assert.deepEqual(named(), [['eu', 12], ['us', 20], ['apac', 5]]);
  send({ series: '', points: [], mode: 'upsert', remove: ['us'] });
  assert.deepEqual(named(), [['eu', 12], ['apac', 5]]);
  send({ series: '', points: [['latam', 1], ['af', 2]], mode: 'upsert' });
  assert.deepEqual(named(), [['apac', 5], ['latam', 1], ['af', 2]], 'max_points trims the oldest');
  send({ series: '', points: [['us', 7]], mode: 'upsert' });
  assert.deepEqual(named(), [['latam', 1], ['af', 2], ['us', 7]], 'a returning category goes after the others');
  send({ series: 'cost', points: [[5, 1], ['eu', 3]], mode: 'upsert' });
  assert.deepEqual(named('cost'), [['eu', 3]], 'a number is not a category');
});

test('category plot data puts each live category at a position, named, one column per series', () => {
  const { w } = board({ points: [['eu', 10], ['us', 20]], series: { cost: [['apac', 1], ['eu', 2]] } });
  const list = [w.state.series.get(''), w.state.series.get('cost')];
  const cd = buildCategoryData(list, w.state.categories.names);
  assert.deepEqual(cd.labels, ['eu', 'us', 'apac']);
  assert.deepEqual(cd.data, [[0, 1, 2], [10, 20, undefined], [2, undefined, 1]]);
  assert.equal(cd.points, 4);
  assert.equal(cd.time, false);
});

test('a category chart forgets categories no point holds, keeping the order of the others', () => {
  const { w, send, named } = board({ points: [] });
  for (let i = 0; i < 1000; i++) send({ series: '', points: [[`c${i}`, i]], mode: 'upsert' });
  assert.deepEqual(named(), [['c997', 997], ['c998', 998], ['c999', 999]]);
  assert.ok(w.state.categories.names.length <= 256 + 2 * 3 + 1, `${w.state.categories.names.length} categories remembered`);
  send({ series: '', points: [['c998', 1]], mode: 'upsert' });
  assert.deepEqual(named(), [['c997', 997], ['c998', 1], ['c999', 999]]);
});
