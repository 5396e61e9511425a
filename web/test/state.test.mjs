// The browser's copy of the dashboard must follow docs/protocol.md exactly: these tests pin the
// server's rules (§1.3 updates, §2 positions and events, §3 state shapes) on the client side.
import test from 'node:test';
import assert from 'node:assert/strict';
import { DashboardState } from '../state.js';

const quiet = () => {
  const warn = console.warn;
  console.warn = () => {};
  return () => { console.warn = warn; };
};

/** A snapshot message: [{type: snapshot, …}]. */
function snapshot(widgets, { seq = 100, epoch = 'E1', title = 'Orders', reset = false } = {}) {
  return [{ type: 'snapshot', epoch, seq, reset, title, widgets }];
}

/** A state with the snapshot applied, and a helper making chained events from seq 101 on. */
function setup(widgets = [], opts = {}) {
  const s = new DashboardState(opts);
  s.apply(snapshot(widgets));
  let seq = 100;
  const next = (ev) => {
    const e = { ...ev, seq: seq + 1, prev: seq };
    seq++;
    return e;
  };
  const send = (ev) => s.apply([next(ev)]);
  return { s, next, send };
}

const chart = (id, state = { points: [] }, config = {}) => ({ id, config: { type: 'chart', ...config }, state });
const pts = (s, id, name = '') => s.widgets.get(id).state.series.get(name)?.points() ?? [];

test('a snapshot sets the position, the title and every widget', () => {
  const s = new DashboardState();
  const res = s.apply(snapshot([
    { id: 'rev', config: { type: 'stat', title: 'Revenue', unit: '$' }, state: { value: 42.5, prev: 40.1, ts: 1732713600000 } },
    chart('lat', { points: [[1, 2], [3, 4]], series: { p99: [[1, 9]] } }),
    { id: 'regions', config: { type: 'table' }, state: { rows: { eu: { region: 'eu', revenue: 10 } } } },
  ]));
  assert.deepEqual(s.position(), { epoch: 'E1', seq: 100 });
  assert.equal(s.title, 'Orders');
  assert.equal(res.snapshot, true);
  assert.equal(res.title, true);
  assert.deepEqual([...res.changed].sort(), ['lat', 'regions', 'rev']);
  const rev = s.widgets.get('rev');
  assert.deepEqual(rev.state, { value: 42.5, prev: 40.1, ts: 1732713600000 });
  assert.equal(rev.config.unit, '$');
  assert.equal(rev.config.title, 'Revenue');
  assert.deepEqual(pts(s, 'lat'), [[1, 2], [3, 4]]);
  assert.deepEqual(pts(s, 'lat', 'p99'), [[1, 9]]);
  assert.deepEqual(s.widgets.get('regions').state.rows.get('eu'), { region: 'eu', revenue: 10 });
});

test('configs get their defaults, the title defaulting to the id', () => {
  const { s } = setup([{ id: 'g', config: { type: 'gauge' }, state: { value: null, prev: null, ts: null } }]);
  const c = s.widgets.get('g').config;
  assert.equal(c.title, 'g');
  assert.equal(c.min, 0);
  assert.equal(c.max, 100);
  assert.deepEqual(c.thresholds, []);
  assert.equal(c.order, 0);
  assert.equal(c.max_points, 1000);
  assert.equal(c.max_rows, 100);
  assert.equal(c.sort_desc, true);
});

test('before any snapshot there is no position to resume from', () => {
  assert.equal(new DashboardState().position(), null);
});

test('a new snapshot replaces everything held, dropping widgets it does not list', () => {
  const { s } = setup([{ id: 'old', config: { type: 'stat' }, state: { value: 1 } }]);
  const res = s.apply(snapshot([{ id: 'new', config: { type: 'stat' }, state: { value: 2 } }], { seq: 7, epoch: 'E2', reset: true }));
  assert.deepEqual([...s.widgets.keys()], ['new']);
  assert.deepEqual(s.position(), { epoch: 'E2', seq: 7 });
  assert.equal(res.reset, true);
  assert.ok(res.changed.has('old'), 'the dropped widget is reported so its card goes');
});

test('a remove event drops the widget and reports it so its card goes', () => {
  const { s, send } = setup([chart('gone', { points: [[1, 2]] }), { id: 'kept', config: { type: 'stat' }, state: { value: 1 } }]);
  const res = send({ type: 'remove', id: 'gone' });
  assert.deepEqual([...s.widgets.keys()], ['kept']);
  assert.ok(res.changed.has('gone'));
  assert.equal(res.layout, true);
  assert.equal(res.gap, false);
  assert.deepEqual(s.position(), { epoch: 'E1', seq: 101 });
});

test('a widget created again after its removal starts from nothing', () => {
  const { s, send } = setup([chart('gone', { points: [[1, 2]] })]);
  send({ type: 'remove', id: 'gone' });
  send({ type: 'data', id: 'gone', data: { series: '', points: [[5, 6]], mode: 'append' } });
  assert.deepEqual(pts(s, 'gone'), [[5, 6]]);
});

test('a remove event for a widget the page does not hold only advances the position', () => {
  const { s, send } = setup([chart('kept')]);
  const res = send({ type: 'remove', id: 'unknown' });
  assert.deepEqual([...s.widgets.keys()], ['kept']);
  assert.equal(res.gap, false);
  assert.equal(res.layout, false);
  assert.equal(s.seq, 101);
});

test('stat data sets the value and moves the old one to prev', () => {
  const { s, send } = setup([{ id: 'rev', config: { type: 'stat' }, state: { value: 40, prev: null, ts: null } }]);
  const res = send({ type: 'data', id: 'rev', data: { value: 42.5, ts: 5 } });
  assert.deepEqual(s.widgets.get('rev').state, { value: 42.5, prev: 40, ts: 5 });
  assert.deepEqual([...res.changed], ['rev']);
  send({ type: 'data', id: 'rev', data: { value: null, ts: 6 } });
  assert.deepEqual(s.widgets.get('rev').state, { value: null, prev: 42.5, ts: 6 });
});

// The server keeps a stat's latest event per frame, so a page may be sent 44 after 40 with 42 in
// between: the event's prev (docs/protocol.md §2.2) is what the widget held before 44, and the
// page's change must be the one /api/widgets and a reload show, not 44 against 40.
test('stat data takes prev from the event when it carries one', () => {
  const { s, send } = setup([{ id: 'rev', config: { type: 'stat' }, state: { value: 40, prev: null, ts: null } }]);
  send({ type: 'data', id: 'rev', data: { value: 44, ts: 7, prev: 42 } });
  assert.deepEqual(s.widgets.get('rev').state, { value: 44, prev: 42, ts: 7 });
  send({ type: 'data', id: 'rev', data: { value: 45, ts: 8, prev: null } });
  assert.deepEqual(s.widgets.get('rev').state, { value: 45, prev: null, ts: 8 });
});

test('gauge data follows the stat rules', () => {
  const { s, send } = setup([{ id: 'cpu', config: { type: 'gauge' }, state: { value: 10 } }]);
  send({ type: 'data', id: 'cpu', data: { value: 70 } });
  assert.equal(s.widgets.get('cpu').state.value, 70);
  assert.equal(s.widgets.get('cpu').state.prev, 10);
});

test('chart points append in arrival order, not x order', () => {
  const { s, send } = setup([chart('c', { points: [[10, 1]] })]);
  send({ type: 'data', id: 'c', data: { series: '', points: [[30, 3], [20, 2]], mode: 'append' } });
  assert.deepEqual(pts(s, 'c'), [[10, 1], [30, 3], [20, 2]]);
});

test('chart points go to their named series, created on first use', () => {
  const { s, send } = setup([chart('c')]);
  send({ type: 'data', id: 'c', data: { series: 'p99', points: [[1, 5]], mode: 'append' } });
  assert.deepEqual(pts(s, 'c', 'p99'), [[1, 5]]);
  assert.deepEqual(pts(s, 'c'), []);
  assert.equal(s.widgets.get('c').state.lastSeries, 'p99');
});

test('a null y is kept as a gap', () => {
  const { s, send } = setup([chart('c')]);
  send({ type: 'data', id: 'c', data: { points: [[1, 1], [2, null], [3, 3]] } });
  assert.deepEqual(pts(s, 'c'), [[1, 1], [2, null], [3, 3]]);
});

test('each series keeps only its last max_points', () => {
  const { s, send } = setup([chart('c', { points: [] }, { max_points: 3 })]);
  send({ type: 'data', id: 'c', data: { points: [[1, 1], [2, 2], [3, 3], [4, 4], [5, 5]] } });
  assert.deepEqual(pts(s, 'c'), [[3, 3], [4, 4], [5, 5]]);
  send({ type: 'data', id: 'c', data: { series: 'b', points: [[1, 1]] } });
  send({ type: 'data', id: 'c', data: { points: [[6, 6]] } });
  assert.deepEqual(pts(s, 'c'), [[4, 4], [5, 5], [6, 6]]);
  assert.deepEqual(pts(s, 'c', 'b'), [[1, 1]], 'trimming is per series');
});

test('a snapshot chart longer than max_points is trimmed to its newest points', () => {
  const { s } = setup([chart('c', { points: [[1, 1], [2, 2], [3, 3]] }, { max_points: 2 })]);
  assert.deepEqual(pts(s, 'c'), [[2, 2], [3, 3]]);
});

test('trimming a long stream keeps exactly the newest points and bounded memory', () => {
  const { s, next } = setup([chart('c', { points: [] }, { max_points: 10000 })]);
  for (let batch = 0; batch < 30; batch++) {
    const points = [];
    for (let i = 0; i < 1000; i++) points.push([batch * 1000 + i, i]);
    s.apply([next({ type: 'data', id: 'c', data: { points } })]);
  }
  const series = s.widgets.get('c').state.series.get('');
  assert.equal(series.length, 10000);
  assert.equal(series.points()[0][0], 20000);
  assert.equal(series.lastX(), 29999);
  assert.ok(series.xs.length <= 20000, `backing array holds ${series.xs.length}, at most twice the live points`);
});

test('upsert replaces the point with the same x', () => {
  const { s, send } = setup([chart('c', { points: [[1, 1], [2, 2], [3, 3]] })]);
  send({ type: 'data', id: 'c', data: { points: [[2, 20]], mode: 'upsert' } });
  assert.deepEqual(pts(s, 'c'), [[1, 1], [2, 20], [3, 3]]);
});

test('upsert inserts a new x in x order', () => {
  const { s, send } = setup([chart('c', { points: [[1, 1], [3, 3]] })]);
  send({ type: 'data', id: 'c', data: { points: [[2, 2], [0, 0], [9, 9]], mode: 'upsert' } });
  assert.deepEqual(pts(s, 'c'), [[0, 0], [1, 1], [2, 2], [3, 3], [9, 9]]);
});

test('upsert on unordered points replaces the newest point with that x, like the server', () => {
  // gateway upsertPoint: an existing x anywhere in the series is replaced, never duplicated.
  const { s, send } = setup([chart('c', { points: [[3, 3], [1, 1], [5, 5]] })]);
  send({ type: 'data', id: 'c', data: { points: [[3, 30], [1, 10], [4, 4]], mode: 'upsert' } });
  assert.deepEqual(pts(s, 'c'), [[3, 30], [1, 10], [4, 4], [5, 5]]);
});

test('upsert then trims to max_points, dropping the oldest', () => {
  const { s, send } = setup([chart('c', { points: [[1, 1], [2, 2]] }, { max_points: 2 })]);
  send({ type: 'data', id: 'c', data: { points: [[3, 3]], mode: 'upsert' } });
  assert.deepEqual(pts(s, 'c'), [[2, 2], [3, 3]]);
});

test('remove drops the listed x values before the points are applied', () => {
  const { s, send } = setup([chart('c', { points: [[1, 1], [2, 2], [3, 3]] })]);
  send({ type: 'data', id: 'c', data: { remove: [2, 3], points: [[3, 33]], mode: 'append' } });
  assert.deepEqual(pts(s, 'c'), [[1, 1], [3, 33]]);
});

test('remove applies to the named series only, and a named series left empty is dropped', () => {
  const { s, send } = setup([chart('c', { points: [[1, 1]], series: { b: [[1, 1]] } })]);
  send({ type: 'data', id: 'c', data: { series: 'b', remove: [1], points: [] } });
  assert.equal(s.widgets.get('c').state.series.has('b'), false);
  assert.deepEqual(pts(s, 'c'), [[1, 1]]);
});

test('table ops upsert whole rows and delete by key', () => {
  const { s, send } = setup([{ id: 't', config: { type: 'table' }, state: { rows: { eu: { region: 'eu', revenue: 10, extra: 1 } } } }]);
  send({ type: 'data', id: 't', data: { ops: [
    { key: 'eu', row: { region: 'eu', revenue: 12 } },
    { key: 'us', row: { region: 'us', revenue: 7 } },
  ] } });
  const rows = s.widgets.get('t').state.rows;
  assert.deepEqual(rows.get('eu'), { region: 'eu', revenue: 12 }, 'an upsert replaces the row, it does not merge');
  assert.deepEqual(rows.get('us'), { region: 'us', revenue: 7 });
  send({ type: 'data', id: 't', data: { ops: [{ key: 'eu', delete: true }] } });
  assert.deepEqual([...rows.keys()], ['us']);
});

test('a batch of table ops is applied in order within one message', () => {
  const { s, send } = setup([{ id: 't', config: { type: 'table' }, state: { rows: {} } }]);
  const res = send({ type: 'data', id: 't', data: { ops: [
    { key: 'a', row: { v: 1 } }, { key: 'a', delete: true }, { key: 'b', row: { v: 2 } }, { key: 'b', row: { v: 3 } },
  ] } });
  assert.deepEqual([...s.widgets.get('t').state.rows], [['b', { v: 3 }]]);
  assert.equal(res.applied, 1, 'the batch is one event');
});

test('a table records which keys were upserted or deleted, until its reader clears them', () => {
  const { s, send } = setup([{ id: 't', config: { type: 'table' }, state: { rows: { a: { v: 1 }, b: { v: 2 } } } }]);
  const st = s.widgets.get('t').state;
  assert.deepEqual([...st.changed].sort(), ['a', 'b'], 'rows from the snapshot count as changed');
  st.changed.clear();
  send({ type: 'data', id: 't', data: { ops: [
    { key: 'b', row: { v: 3 } }, { key: 'c', row: { v: 4 } }, { key: 'a', delete: true }, { key: 'zz', delete: true },
  ] } });
  assert.deepEqual([...st.changed].sort(), ['a', 'b', 'c'], 'deleting a key that was never there changes nothing');
  send({ type: 'data', id: 't', data: { ops: [{ key: 'b', row: { v: 5 } }] } });
  assert.equal(st.changed.size, 3, 'a key updated again is recorded once');
});

test('a table carries how many keys the row limit refused, as the last event that changed it says', () => {
  const { s, send } = setup([{ id: 't', config: { type: 'table' }, state: { rows: { a: { v: 1 } }, refused: 2 } }]);
  assert.equal(s.widgets.get('t').state.refused, 2, 'from the snapshot');
  send({ type: 'data', id: 't', data: { ops: [{ key: 'a', row: { v: 2 } }] } });
  assert.equal(s.widgets.get('t').state.refused, 2, 'an event without refused leaves it');
  send({ type: 'data', id: 't', data: { ops: [], refused: 3 } });
  assert.equal(s.widgets.get('t').state.refused, 3);
  send({ type: 'data', id: 't', data: { ops: [{ key: 'b', row: { v: 1 } }], refused: 0 } });
  assert.equal(s.widgets.get('t').state.refused, 0);
  assert.deepEqual([...s.widgets.get('t').state.rows.keys()], ['a', 'b']);
});

test('numeric table keys become their decimal text', () => {
  const { s, send } = setup([{ id: 't', config: { type: 'table' }, state: { rows: {} } }]);
  send({ type: 'data', id: 't', data: { ops: [{ key: 42, row: { v: 1 } }] } });
  assert.deepEqual([...s.widgets.get('t').state.rows.keys()], ['42']);
});

test('table columns are listed in order of first appearance', () => {
  const { s, send } = setup([{ id: 't', config: { type: 'table' }, state: { rows: { a: { region: 'eu', revenue: 1 } } } }]);
  send({ type: 'data', id: 't', data: { ops: [{ key: 'b', row: { orders: 3, region: 'us' } }] } });
  assert.deepEqual(s.widgets.get('t').state.columns, ['region', 'revenue', 'orders']);
});

test('data for an unknown widget creates it with the type its shape implies and its id as title', () => {
  const { s, send } = setup();
  const r1 = send({ type: 'data', id: 'v', data: { value: 1 } });
  send({ type: 'data', id: 'c', data: { series: '', points: [[1, 2]], mode: 'append' } });
  send({ type: 'data', id: 't', data: { ops: [{ key: 'k', row: { a: 1 } }] } });
  assert.equal(r1.layout, true);
  assert.deepEqual(['v', 'c', 't'].map((id) => s.widgets.get(id).type), ['stat', 'chart', 'table']);
  assert.equal(s.widgets.get('c').config.title, 'c');
  assert.deepEqual(pts(s, 'c'), [[1, 2]]);
});

test('data that does not fit the widget type is ignored but still advances the position', () => {
  const restore = quiet();
  try {
    const { s, send } = setup([{ id: 'rev', config: { type: 'stat' }, state: { value: 1 } }]);
    const res = send({ type: 'data', id: 'rev', data: { ops: [] } });
    assert.equal(s.widgets.get('rev').state.value, 1);
    assert.equal(res.changed.size, 0);
    assert.equal(s.seq, 101);
  } finally {
    restore();
  }
});

test('a config event replaces config and state', () => {
  const { s, send } = setup([{ id: 'rev', config: { type: 'stat', unit: '$' }, state: { value: 1 } }]);
  const res = send({ type: 'config', id: 'rev', config: { id: 'rev', type: 'stat', title: 'Revenue', unit: '€' }, state: { value: 5, prev: 1, ts: 9 } });
  const w = s.widgets.get('rev');
  assert.equal(w.config.unit, '€');
  assert.deepEqual(w.state, { value: 5, prev: 1, ts: 9 });
  assert.equal(res.layout, true, 'a new title changes the card');
});

test('a config that changes the type resets the widget to the new type and its state', () => {
  const { s, send } = setup([chart('x', { points: [[1, 1]] })]);
  const res = send({ type: 'config', id: 'x', config: { id: 'x', type: 'table' }, state: { rows: {} } });
  const w = s.widgets.get('x');
  assert.equal(w.type, 'table');
  assert.equal(w.state.rows.size, 0);
  assert.equal(w.state.series, undefined);
  assert.equal(res.layout, true);
});

test('a config with a smaller max_points trims the chart', () => {
  const { s, send } = setup([chart('c', { points: [[1, 1], [2, 2], [3, 3]] })]);
  send({ type: 'config', id: 'c', config: { id: 'c', type: 'chart', max_points: 1 }, state: { points: [[1, 1], [2, 2], [3, 3]] } });
  assert.deepEqual(pts(s, 'c'), [[3, 3]]);
});

test('a config event for a new widget creates it', () => {
  const { s, send } = setup();
  const res = send({ type: 'config', id: 'new', config: { id: 'new', type: 'gauge', max: 10 }, state: { value: null } });
  assert.equal(s.widgets.get('new').config.max, 10);
  assert.equal(res.layout, true);
});

test('title events set the dashboard title', () => {
  const { s, send } = setup();
  const res = send({ type: 'title', title: 'Order Analytics' });
  assert.equal(s.title, 'Order Analytics');
  assert.equal(res.title, true);
});

test('events advance the position to their seq', () => {
  const { s, send } = setup([{ id: 'v', config: { type: 'stat' }, state: {} }]);
  send({ type: 'data', id: 'v', data: { value: 1 } });
  send({ type: 'title', title: 'x' });
  assert.deepEqual(s.position(), { epoch: 'E1', seq: 102 });
});

test('events with seq at or below the last seen are duplicates and ignored', () => {
  const { s } = setup([{ id: 'v', config: { type: 'stat' }, state: { value: 1 } }]);
  s.apply([{ type: 'data', seq: 101, prev: 100, id: 'v', data: { value: 2 } }]);
  const res = s.apply([
    { type: 'data', seq: 101, prev: 100, id: 'v', data: { value: 99 } },
    { type: 'data', seq: 90, prev: 89, id: 'v', data: { value: 98 } },
  ]);
  assert.equal(s.widgets.get('v').state.value, 2);
  assert.equal(res.gap, false, 'a duplicate is not a gap');
  assert.equal(res.applied, 0);
  assert.equal(s.seq, 101);
});

test('an event whose prev is not the last seq is a gap, and nothing after it is applied', () => {
  const { s } = setup([{ id: 'v', config: { type: 'stat' }, state: { value: 1 } }]);
  const res = s.apply([
    { type: 'data', seq: 101, prev: 100, id: 'v', data: { value: 2 } },
    { type: 'data', seq: 105, prev: 104, id: 'v', data: { value: 3 } },
    { type: 'data', seq: 106, prev: 105, id: 'v', data: { value: 4 } },
  ]);
  assert.equal(res.gap, true);
  assert.equal(s.widgets.get('v').state.value, 2);
  assert.equal(s.seq, 101);
});

test('a filtered (embed) state cannot see gaps through prev and applies what it gets', () => {
  const { s } = setup([{ id: 'v', config: { type: 'stat' }, state: { value: 1 } }], { filtered: true });
  const res = s.apply([{ type: 'data', seq: 150, prev: 149, id: 'v', data: { value: 2 } }]);
  assert.equal(res.gap, false);
  assert.equal(s.widgets.get('v').state.value, 2);
  assert.equal(s.seq, 150);
  s.apply([{ type: 'data', seq: 150, prev: 149, id: 'v', data: { value: 3 } }]);
  assert.equal(s.widgets.get('v').state.value, 2, 'duplicates are still ignored');
});

test('events before any snapshot are a gap: there is nothing to apply them to', () => {
  const s = new DashboardState();
  const res = s.apply([{ type: 'data', seq: 5, prev: 4, id: 'v', data: { value: 1 } }]);
  assert.equal(res.gap, true);
  assert.equal(s.widgets.size, 0);
});

test('resuming at the held position keeps the state and applies the events that follow', () => {
  const { s } = setup([{ id: 'v', config: { type: 'stat' }, state: { value: 1 } }]);
  const res = s.apply([
    { type: 'resumed', epoch: 'E1', seq: 100 },
    { type: 'data', seq: 101, prev: 100, id: 'v', data: { value: 2 } },
  ]);
  assert.equal(res.gap, false);
  assert.equal(res.snapshot, false);
  assert.equal(s.widgets.get('v').state.value, 2);
  assert.deepEqual(s.position(), { epoch: 'E1', seq: 101 });
});

test('a resume from another epoch or beyond the held seq is treated as a gap', () => {
  const restore = quiet();
  try {
    assert.equal(setup().s.apply([{ type: 'resumed', epoch: 'E2', seq: 100 }]).gap, true);
    assert.equal(setup().s.apply([{ type: 'resumed', epoch: 'E1', seq: 120 }]).gap, true);
  } finally {
    restore();
  }
});

test('a message that is not an array is a gap', () => {
  const restore = quiet();
  try {
    assert.equal(setup().s.apply({ type: 'title' }).gap, true);
  } finally {
    restore();
  }
});

test('widget versions move forward only for widgets that changed', () => {
  const { s, send } = setup([
    { id: 'a', config: { type: 'stat' }, state: { value: 1 } },
    { id: 'b', config: { type: 'stat' }, state: { value: 1 } },
  ]);
  const before = s.widgets.get('b').version;
  send({ type: 'data', id: 'a', data: { value: 2 } });
  assert.ok(s.widgets.get('a').version > before);
  assert.equal(s.widgets.get('b').version, before);
});

test('malformed configs fall back to defaults rather than break rendering', () => {
  const { s } = setup([{ id: 'g', config: { type: 'gauge', min: 50, max: 10, thresholds: [[90, 'red'], 'x', [50, 'amber']], title: 7 }, state: {} }]);
  const c = s.widgets.get('g').config;
  assert.deepEqual([c.min, c.max], [0, 100], 'min < max is required');
  assert.deepEqual(c.thresholds, [[50, 'amber'], [90, 'red']], 'invalid entries dropped, ascending');
  assert.equal(c.title, 'g');
});

test('a chart counts every point it receives, trimmed or upserted, so a held chart can say how many arrived', () => {
  const { s, send } = setup([chart('lat', { points: [[1, 2], [3, 4]] }, { max_points: 3 })]);
  const w = s.widgets.get('lat');
  assert.equal(w.state.received, 2, 'the snapshot points');
  send({ type: 'data', id: 'lat', data: { points: [[5, 1], [6, 1], [7, 1]] } });
  send({ type: 'data', id: 'lat', data: { series: 'p99', points: [[5, 9]] } });
  send({ type: 'data', id: 'lat', data: { points: [[7, 2]], mode: 'upsert' } });
  assert.equal(w.state.received, 7);
  assert.equal(pts(s, 'lat').length, 3, 'though only max_points are kept');
});
