import test from 'node:test';
import assert from 'node:assert/strict';
import { chartSummary, nearestIndex, seriesNames, timeTick, xRangeOf, xText } from '../chart-text.js';

test('one point, or points at one x, get a minute (time) or a small span (numbers), never years', () => {
  const t = 1764230400;
  assert.deepEqual(xRangeOf(t, t, true), [t - 30, t + 30]);
  assert.deepEqual(xRangeOf(5, 5, false), [4, 6]);
  assert.deepEqual(xRangeOf(1000, 1000, false), [950, 1050]);
  assert.deepEqual(xRangeOf(t, t + 2, true), [t, t + 2], 'a few seconds of data show as a few seconds');
  assert.deepEqual(xRangeOf(null, null, true), [null, null]);
});

test('time tick labels carry only what the spacing needs and stay short', () => {
  const t = new Date(2026, 11, 3, 8, 10, 5).getTime() / 1000;
  assert.equal(timeTick(t, 5), '08:10:05');
  assert.equal(timeTick(t, 600), '08:10');
  assert.equal(timeTick(t, 86400), 'Dec 3');
  assert.equal(timeTick(t, 90 * 86400), 'Dec 2026');
  for (const incr of [1, 60, 3600, 86400, 40 * 86400]) assert.ok(timeTick(t, incr).length <= 8, `${incr}: ${timeTick(t, incr)}`);
});

test('ticks under a second apart carry the fraction their spacing needs, so no two read alike', () => {
  const t = new Date(2026, 11, 3, 8, 0, 0).getTime() / 1000;
  const at = (incr) => [0, 1, 2, 3, 4].map((i) => timeTick(t + i * incr, incr));
  assert.deepEqual(at(0.25), ['08:00:00.00', '08:00:00.25', '08:00:00.50', '08:00:00.75', '08:00:01.00']);
  assert.deepEqual(at(0.5).map((s) => s.slice(-4)), ['00.0', '00.5', '01.0', '01.5', '02.0']);
  assert.deepEqual(at(0.001).map((s) => s.slice(-6)), ['00.000', '00.001', '00.002', '00.003', '00.004']);
  for (const incr of [0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001]) assert.equal(new Set(at(incr)).size, 5, `${incr}: ${at(incr)}`);
});

test('the summary names the series, their latest values and ranges, and the x span', () => {
  const s = chartSummary({ title: 'Latency', kind: 'line', from: 'A', to: 'B', series: [
    { name: 'p50', last: '3.50', min: '1.00', max: '3.50', count: 3 },
    { name: 'p99', last: '9.00', min: '9.00', max: '9.00', count: 1 },
  ] });
  assert.equal(s, 'Latency: line chart of 2 series, from A to B. p50: latest 3.50, ranging 1.00 to 3.50 over 3 points; p99: latest 9.00, ranging 9.00 to 9.00 over 1 point. Arrow keys step through the points.');
  assert.equal(chartSummary({ title: 'T', kind: 'bar', from: '', to: '', series: [] }), 'T: bar chart, no data yet.');
});

test('nearestIndex finds the closest x, the earlier one on a tie', () => {
  const xs = [1, 3, 7, 10];
  assert.deepEqual([0, 1, 2, 3, 5, 6, 9, 11].map((v) => nearestIndex(xs, v)), [0, 0, 0, 1, 1, 2, 3, 3]);
  assert.equal(nearestIndex([], 4), -1);
});

test('a time read at the cursor names its milliseconds when it has any', () => {
  const t = new Date(2026, 11, 3, 8, 0, 0).getTime() / 1000;
  assert.match(xText(t, true), /^2026-12-03 08:00:00 UTC/);
  assert.match(xText(t + 0.25, true), /^2026-12-03 08:00:00\.250 UTC/);
  assert.equal(xText(2.5, false), '2.5');
});

test('a series named "" beside named series is "(unnamed)", never the chart title; alone it is the chart\'s own line', () => {
  const c = { title: 'Orders by tier', label: null };
  assert.deepEqual(seriesNames(c, ['']), ['Orders by tier'], 'the default series alone goes by the title');
  assert.deepEqual(seriesNames({ ...c, label: 'orders' }, ['']), ['orders'], 'or by its label');
  assert.deepEqual(seriesNames(c, ['', 'gold', 'silver']), ['(unnamed)', 'gold', 'silver']);
  assert.deepEqual(seriesNames({ ...c, label: 'total' }, ['', 'gold']), ['total', 'gold'], 'a label still names it');
  assert.deepEqual(seriesNames(c, ['', ' ', 'gold', '  ']), ['(unnamed 1)', '(unnamed 2)', 'gold', '(unnamed 3)'], 'several blanks are told apart');
  assert.deepEqual(seriesNames({ title: ' ', label: null }, ['']), ['(unnamed)'], 'a blank title names nothing');
  assert.deepEqual(seriesNames(c, []), []);
});
