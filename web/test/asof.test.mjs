import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Freshness, asOfText, clockText, isWallClock, latestAsOf } from '../asof.js';
import { DashboardState } from '../state.js';
import { widgetJSON } from '../export.js';

const at = (h, m, s) => new Date(2026, 10, 27, h, m, s).getTime();

test('a wall-clock as-of reads as the local time, with the date when it is not today', () => {
  assert.equal(clockText(at(10, 42, 7), at(11, 0, 0)), '10:42:07');
  assert.equal(clockText(at(10, 42, 7), at(10, 42, 7) + 2 * 86400e3), '2026-11-27 10:42:07');
  assert.equal(asOfText(at(10, 42, 7), at(10, 43, 0), null), 'as of 10:42:07');
  assert.equal(asOfText(at(10, 42, 7), at(10, 43, 0), 53_000), 'stale: no new data for 53s, as of 10:42:07');
});

test('a logical time (a static Pathway run) is shown as the number it is', () => {
  assert.equal(isWallClock(4), false);
  assert.equal(asOfText(4, at(10, 0, 0), null), 'as of time 4');
});

test('the state folds as_of from snapshots and data, keeping the latest', () => {
  const s = new DashboardState();
  s.apply([{ type: 'snapshot', epoch: 'e', seq: 1, widgets: [
    { id: 'a', config: { type: 'stat' }, state: { value: 1, prev: null, ts: 1, as_of: 10 } },
    { id: 'b', config: { type: 'table' }, state: { rows: {} } },
  ] }]);
  assert.equal(s.widgets.get('a')?.asOf, 10);
  assert.equal(s.widgets.get('b')?.asOf, null);
  s.apply([
    { type: 'data', seq: 2, prev: 1, id: 'b', data: { ops: [{ key: 'k', row: { n: 1 } }], as_of: 12 } },
    { type: 'data', seq: 3, prev: 2, id: 'a', data: { value: 2, ts: 2, as_of: 8 } },
  ]);
  assert.equal(s.widgets.get('b')?.asOf, 12);
  assert.equal(s.widgets.get('a')?.asOf, 10, 'an older as-of arriving late does not move it back');
  assert.equal(latestAsOf(s.widgets.values()), 12);
  const b = s.widgets.get('b');
  assert.ok(b);
  assert.deepEqual(widgetJSON(b).state, { rows: { k: { n: 1 } }, as_of: 12 }, 'exports carry it as /api/widgets does');
});

test('stale_after is kept from the config when it is a positive number', () => {
  const s = new DashboardState();
  s.apply([{ type: 'snapshot', epoch: 'e', seq: 1, widgets: [
    { id: 'a', config: { type: 'stat', stale_after: 2.5 }, state: null },
    { id: 'b', config: { type: 'stat', stale_after: -1 }, state: null },
    { id: 'c', config: { type: 'stat' }, state: null },
  ] }]);
  assert.deepEqual(['a', 'b', 'c'].map((id) => s.widgets.get(id)?.config.stale_after), [2.5, null, null]);
});

test('a widget is stale once stale_after passes without a newer as-of, and fresh again when one comes', () => {
  const f = new Freshness();
  const t0 = 1_000_000;
  assert.equal(f.note('a', 2, t0, false), true);
  assert.equal(f.staleFor('a', 5, t0 + 5000), null);
  assert.equal(f.staleFor('a', 5, t0 + 5001), 5001);
  assert.equal(f.staleFor('a', null, t0 + 1e9), null, 'without stale_after never stale');
  assert.equal(f.note('a', 2, t0 + 6000, false), false, 'the same as-of again is no new data');
  assert.equal(f.staleFor('a', 5, t0 + 6000), 6000);
  assert.equal(f.note('a', 4, t0 + 7000, false), true);
  assert.equal(f.staleFor('a', 5, t0 + 7000), null);
});

test('after a snapshot a wall-clock as-of counts from itself: a pipeline stalled before the page opened shows stale', () => {
  const f = new Freshness();
  const now = at(10, 45, 0);
  f.note('a', at(10, 42, 7), now, true);
  assert.equal(f.staleFor('a', 60, now), now - at(10, 42, 7));
  f.note('b', 42, now, true);
  assert.equal(f.staleFor('b', 60, now), null, 'a logical time counts from its arrival');
});
