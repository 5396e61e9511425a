// The pure models behind the widgets: chart columns, table ordering, gauge geometry, page helpers.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Series } from '../series.js';
import { buildChartData, isEpochMs, isTimeAxis } from '../chart-data.js';
import { TopRows, cell, columnLabel, compareKeys, displayColumns, selectRows } from '../table-model.js';
import { arcPath, gaugeColor, gaugeFraction } from '../gauge-model.js';
import { ageText, connectionLabel, displayOrder, embedGrant, embedWidgetId, isWidgetId } from '../page.js';
import { impliedType, normalizeConfig } from '../config.js';

/** @param {string} name @param {[number, number|null][]} points */
function series(name, points, max = 1000) {
  const s = new Series(name);
  for (const [x, y] of points) s.append(x, y);
  s.trim(max);
  return s;
}

test('a long sorted series upserts by binary search with the same result as the backward scan', () => {
  const pointsOf = (xs) => xs.map((x) => [x, x]);
  const xs = Array.from({ length: 100 }, (_, i) => i * 2);
  const fast = series('', pointsOf(xs));
  fast.upsert(51, -1);
  fast.upsert(50, -2);
  fast.upsert(-7, -3);
  fast.upsert(198, -4);
  const got = fast.points();
  assert.equal(got.length, 102);
  assert.deepEqual(got.slice(0, 2), [[-7, -3], [0, 0]]);
  assert.deepEqual(got.slice(26, 29), [[50, -2], [51, -1], [52, 52]]);
  assert.deepEqual(got[got.length - 1], [198, -4]);
  assert.equal(fast.sorted, true);
});

test('a sorted series upserts: replace, insert inside, insert at the front', () => {
  const s = series('', [[10, 1], [20, 2], [30, 3]]);
  s.upsert(20, 22);
  s.upsert(25, 25);
  s.upsert(5, 5);
  assert.deepEqual(s.points(), [[5, 5], [10, 1], [20, 22], [25, 25], [30, 3]]);
  assert.equal(s.sorted, true);
});

test('a series knows it is out of order once a smaller x is appended', () => {
  const s = series('', [[1, 1], [3, 3]]);
  assert.equal(s.sorted, true);
  s.append(2, 2);
  assert.equal(s.sorted, false);
});

test('upserting into trimmed series only considers live points', () => {
  const s = series('', [[1, 1], [2, 2], [3, 3], [4, 4]], 2);
  s.upsert(1, 100); // x=1 was trimmed away: this inserts a new oldest point
  assert.deepEqual(s.points(), [[1, 100], [3, 3], [4, 4]]);
});

test('chart data for one series passes its points through in x order', () => {
  const s = series('', [[3, 30], [1, 10], [2, null]]);
  const cd = buildChartData([s]);
  assert.deepEqual(cd.data, [[1, 2, 3], [10, null, 30]]);
  assert.equal(cd.points, 3);
  assert.equal(cd.time, false);
});

test('epoch-millisecond x values become seconds on a time axis', () => {
  assert.equal(isEpochMs(1732713600000), true);
  assert.equal(isEpochMs(5000), false);
  const cd = buildChartData([series('', [[1732713600000, 1], [1732713601500, 2]])]);
  assert.equal(cd.time, true);
  assert.deepEqual(cd.data[0], [1732713600, 1732713601.5]);
});

test('x past the dates JavaScript has (nanoseconds) or before them stay numbers, never an Invalid Date axis', () => {
  assert.equal(isEpochMs(8.64e15), true, 'the last date');
  assert.equal(isEpochMs(8.64e15 + 1), false);
  assert.equal(isEpochMs(1764230400000000000), false, 'time.time_ns()');
  assert.equal(buildChartData([series('', [[1764230400000000000, 1], [1764230401000000000, 2]])]).time, false);
  assert.equal(isTimeAxis([series('', [[-1e16, 1], [1732713600000, 2]])]), false, 'an x before the first date');
  assert.equal(isTimeAxis([series('', [[1732713600000, 2], [-1e16, 1]])]), false, 'out of order too');
  assert.equal(isTimeAxis([series('', [[0, 1], [1732713600000, 2]])]), true);
});

test('series with different x values are aligned, missing points undefined and gaps null', () => {
  const a = series('a', [[1, 1], [3, 3]]);
  const b = series('b', [[2, 20], [3, null]]);
  const cd = buildChartData([a, b]);
  assert.deepEqual(cd.data, [[1, 2, 3], [1, undefined, 3], [undefined, 20, null]]);
  assert.equal(cd.points, 4);
});

test('series sampled at the same x values share one x column', () => {
  const cd = buildChartData([series('a', [[1, 1], [2, 2]]), series('b', [[1, 5], [2, 6]])]);
  assert.deepEqual(cd.data, [[1, 2], [1, 2], [5, 6]]);
});

test('an empty chart has an empty x column', () => {
  assert.deepEqual(buildChartData([]).data, [[]]);
});

const rows = new Map(Object.entries({
  b: { region: 'b', revenue: 5 },
  a: { region: 'a', revenue: 10 },
  c: { region: 'c', revenue: null },
  d: { region: 'd', revenue: 7 },
}));

test('tables without sort_by show rows in key order, numbers in numeric order', () => {
  assert.deepEqual(selectRows(rows, { sortBy: null, desc: true }, 10).map(([k]) => k), ['a', 'b', 'c', 'd']);
  assert.ok(compareKeys('9', '10') < 0);
});

test('sort_by orders by that column in the asked direction, rows without a value last', () => {
  assert.deepEqual(selectRows(rows, { sortBy: 'revenue', desc: true }, 10).map(([k]) => k), ['a', 'd', 'b', 'c']);
  assert.deepEqual(selectRows(rows, { sortBy: 'revenue', desc: false }, 10).map(([k]) => k), ['b', 'd', 'a', 'c']);
});

test('max_rows keeps the first rows after sorting, picked without sorting everything', () => {
  assert.deepEqual(selectRows(rows, { sortBy: 'revenue', desc: true }, 2).map(([k]) => k), ['a', 'd']);
  const many = new Map();
  for (let i = 0; i < 5000; i++) many.set(`k${i}`, { v: (i * 7919) % 5000 });
  const top = selectRows(many, { sortBy: 'v', desc: true }, 3).map(([, r]) => r.v);
  assert.deepEqual(top, [4999, 4998, 4997]);
  assert.deepEqual(selectRows(many, { sortBy: 'v', desc: true }, 0), []);
});

/** A deterministic pseudo-random sequence, so failures reproduce. */
function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('a maintained top-N always equals a full selection, through random upserts, deletes and ties', () => {
  const orders = [
    { sortBy: 'v', desc: true },
    { sortBy: 'v', desc: false },
    { sortBy: null, desc: true },
    { sortBy: 'mixed', desc: true },
  ];
  for (const order of orders) {
    const rand = rng(11);
    const table = new Map();
    const changed = new Set();
    const set = (k, row) => { table.set(k, row); changed.add(k); };
    const values = () => {
      const r = rand();
      // Ties, missing values, and mixed types all take part.
      return { v: Math.floor(rand() * 50), mixed: r < 0.1 ? null : r < 0.2 ? 'text' + Math.floor(rand() * 5) : r < 0.25 ? true : Math.floor(rand() * 30) };
    };
    for (let i = 0; i < 300; i++) set(`k${i}`, values());
    const top = new TopRows();
    for (let round = 0; round < 200; round++) {
      const n = 1 + Math.floor(rand() * 12);
      for (let j = 0; j < n; j++) {
        const k = `k${Math.floor(rand() * 400)}`;
        if (rand() < 0.15) {
          if (table.delete(k)) changed.add(k);
        } else set(k, values());
      }
      const limit = 10;
      const got = top.sync(table, changed, order, limit).map(([k]) => k);
      const want = selectRows(table, order, limit).map(([k]) => k);
      assert.deepEqual(got, want, `${JSON.stringify(order)}, round ${round}`);
      assert.equal(changed.size, 0, 'sync consumes the changed keys');
    }
  }
});

test('a maintained top-N rescans every row only when too few of the rows it holds are left', () => {
  const rand = rng(3);
  const table = new Map();
  for (let i = 0; i < 10000; i++) table.set(`k${i}`, { v: i });
  const changed = new Set();
  const top = new TopRows();
  const order = { sortBy: 'v', desc: true };
  top.sync(table, changed, order, 100);
  assert.equal(top.rebuilds, 1);
  // 1,000 updates of random rows to random values, 50 at a time: the bench's table load.
  for (let batch = 0; batch < 20; batch++) {
    for (let j = 0; j < 50; j++) {
      const k = `k${Math.floor(rand() * 10000)}`;
      table.set(k, { v: rand() * 10000 });
      changed.add(k);
    }
    const got = top.sync(table, changed, order, 100);
    assert.deepEqual(got.map(([k]) => k), selectRows(table, order, 100).map(([k]) => k));
  }
  assert.ok(top.rebuilds <= 3, `rescanned ${top.rebuilds} times`);
});

test('a maintained top-N starts over for another table, order or limit, and handles small tables', () => {
  const top = new TopRows();
  const a = new Map([['x', { v: 1 }], ['y', { v: 2 }]]);
  assert.deepEqual(top.sync(a, new Set(), { sortBy: 'v', desc: true }, 5).map(([k]) => k), ['y', 'x']);
  a.set('z', { v: 3 });
  assert.deepEqual(top.sync(a, new Set(['z']), { sortBy: 'v', desc: true }, 5).map(([k]) => k), ['z', 'y', 'x'],
    'a table smaller than the cache takes every new row');
  assert.deepEqual(top.sync(a, new Set(), { sortBy: 'v', desc: false }, 5).map(([k]) => k), ['x', 'y', 'z']);
  assert.deepEqual(top.sync(a, new Set(), { sortBy: 'v', desc: false }, 2).map(([k]) => k), ['x', 'y']);
  const b = new Map([['q', { v: 0 }]]);
  assert.deepEqual(top.sync(b, new Set(), { sortBy: 'v', desc: false }, 2).map(([k]) => k), ['q'], 'a snapshot\'s new rows map');
  assert.deepEqual(top.sync(b, new Set(['q']), { sortBy: 'v', desc: false }, 0), []);
});

test('cells only read a row\'s own fields, so "constructor" is not Object.prototype\'s', () => {
  assert.equal(cell({ a: 1 }, 'constructor'), undefined);
  assert.equal(cell(JSON.parse('{"__proto__": 5}'), '__proto__'), 5);
});

test('columns come from the config when listed, else from first appearance; labels default to names', () => {
  const cfg = normalizeConfig('t', 'table', { columns: ['b'], column_labels: { b: 'Bee' } });
  assert.deepEqual(displayColumns(cfg, { columns: ['a', 'b'] }), ['b']);
  assert.deepEqual(displayColumns(normalizeConfig('t', 'table', {}), { columns: ['a', 'b'] }), ['a', 'b']);
  assert.equal(columnLabel(cfg, 'b'), 'Bee');
  assert.equal(columnLabel(cfg, 'toString'), 'toString');
});

test('a gauge takes the colour of the first threshold at or above the value', () => {
  const c = { thresholds: [[50, 'green'], [80, 'orange'], [100, 'red']], color: 'blue' };
  assert.equal(gaugeColor(10, c), 'green');
  assert.equal(gaugeColor(50, c), 'green');
  assert.equal(gaugeColor(50.1, c), 'orange');
  assert.equal(gaugeColor(99, c), 'red');
  assert.equal(gaugeColor(120, c), 'blue', 'above every threshold: the configured colour');
  assert.equal(gaugeColor(120, { thresholds: [], color: null }), null, 'else the theme default');
});

test('the gauge arc spans its share of the scale, clamped to the ends', () => {
  assert.equal(gaugeFraction(25, 0, 100), 0.25);
  assert.equal(gaugeFraction(-5, 0, 100), 0);
  assert.equal(gaugeFraction(0, -1e308, 1e308), 0.5, 'a scale whose width overflows a double');
  assert.equal(gaugeFraction(1e308, -1e308, 1e308), 1);
  assert.equal(gaugeFraction(500, 0, 100), 1);
  assert.equal(arcPath(100, 95, 80, 0), '');
  assert.match(arcPath(100, 95, 80, 1), /^M [\d.]+ [\d.]+ A 80 80 0 1 1 [\d.]+ [\d.]+$/);
  assert.match(arcPath(100, 95, 80, 0.25), / 0 0 1 /, 'a short arc uses the small-arc flag');
});

test('the embed page reads its widget id from the last path segment, percent-decoded', () => {
  assert.equal(embedWidgetId('/embed/revenue'), 'revenue');
  assert.equal(embedWidgetId('/embed/a%20b%3Cscript%3E'), 'a b<script>');
  assert.equal(embedWidgetId('/embed/revenue/'), 'revenue');
  assert.equal(embedWidgetId('/embed/%E0%A4%A'), null);
  assert.equal(embedWidgetId('/'), null);
});

test('the embed page takes exp and sig from its address only when both are there', () => {
  assert.deepEqual(embedGrant('?exp=1800000000&sig=ab%2012'), { exp: '1800000000', sig: 'ab 12' });
  assert.equal(embedGrant('?exp=1800000000'), null);
  assert.equal(embedGrant(''), null);
});

test('widget ids follow the protocol: letters, digits, - and _, 1 to 64 characters', () => {
  assert.equal(isWidgetId('rev_2-a'), true);
  assert.equal(isWidgetId('x'.repeat(64)), true);
  assert.equal(isWidgetId('x'.repeat(65)), false);
  assert.equal(isWidgetId(''), false);
  assert.equal(isWidgetId('a b'), false);
  assert.equal(isWidgetId('<img>'), false);
});

test('the update age reads in the largest whole unit', () => {
  assert.equal(ageText(null), 'no updates yet');
  assert.equal(ageText(400), 'updated just now');
  assert.equal(ageText(3200), 'updated 3s ago');
  assert.equal(ageText(125000), 'updated 2m ago');
  assert.equal(ageText(2 * 3600e3), 'updated 2h ago');
  assert.equal(ageText(3 * 86400e3), 'updated 3d ago');
});

test('widgets display by order, then id', () => {
  const w = (id, order) => ({ id, config: { order } });
  assert.deepEqual(displayOrder([w('b', 0), w('a', 0), w('z', -1), w('c', 2)]).map((x) => x.id), ['z', 'a', 'b', 'c']);
});

test('the connection indicator names each state', () => {
  assert.deepEqual(['connecting', 'live', 'reconnecting'].map((s) => connectionLabel(s)), ['connecting…', 'live', 'reconnecting…']);
});

test('a data shape implies its widget type', () => {
  assert.equal(impliedType({ value: 1 }), 'stat');
  assert.equal(impliedType({ points: [] }), 'chart');
  assert.equal(impliedType({ x: 1, y: 2 }), 'chart');
  assert.equal(impliedType({ ops: [] }), 'table');
  assert.equal(impliedType({ key: 'k', row: {} }), 'table');
  assert.equal(impliedType({}), null);
});

test('chart configs clamp max_points to 1..100000 and reject unknown chart types', () => {
  assert.equal(normalizeConfig('c', 'chart', { max_points: 0 }).max_points, 1);
  assert.equal(normalizeConfig('c', 'chart', { max_points: 1e9 }).max_points, 100000);
  assert.equal(normalizeConfig('c', 'chart', { chart_type: 'pie' }).chart_type, 'line');
  assert.equal(normalizeConfig('c', 'chart', { chart_type: 'bar' }).chart_type, 'bar');
});
