import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clockText, instantText } from '../asof.js';
import { timeTick, xText } from '../chart-text.js';

/**
 * Runs fn with the process in time zone tz (Node applies a change of TZ at once), then restores
 * it: every reading below is pinned to a zone, never to the machine's.
 * @param {string} tz
 * @param {() => void} fn
 */
function inZone(tz, fn) {
  const was = process.env.TZ;
  process.env.TZ = tz;
  try {
    fn();
  } finally {
    if (was === undefined) delete process.env.TZ;
    else process.env.TZ = was;
  }
}

test('the hour repeated when clocks go back reads as two different times at the cursor', () => {
  inZone('America/Los_Angeles', () => {
    // 01:30 on 1 November 2026 happens twice in Los Angeles: in daylight time, then an hour later in standard time.
    const first = xText(Date.UTC(2026, 10, 1, 8, 30) / 1000, true);
    const second = xText(Date.UTC(2026, 10, 1, 9, 30) / 1000, true);
    assert.equal(first, '2026-11-01 01:30:00 UTC-7');
    assert.equal(second, '2026-11-01 01:30:00 UTC-8');
  });
});

test('an instant reads in the viewer\u2019s zone, with its offset, whatever the zone\u2019s minutes', () => {
  const t = Date.UTC(2026, 9, 3, 16, 0, 0, 250);
  const cases = [
    ['UTC', '2026-10-03 16:00:00.250 UTC'],
    ['Asia/Kolkata', '2026-10-03 21:30:00.250 UTC+5:30'],
    ['Australia/Lord_Howe', '2026-10-04 03:00:00.250 UTC+11'],
    ['Pacific/Chatham', '2026-10-04 05:45:00.250 UTC+13:45'],
    ['Etc/GMT+12', '2026-10-03 04:00:00.250 UTC-12'],
  ];
  for (const [tz, want] of cases) inZone(tz, () => assert.equal(instantText(t), want, tz));
  // A time the server stamped on arrival has a fraction of a millisecond.
  inZone('UTC', () => assert.equal(instantText(Date.UTC(2026, 9, 3, 16, 0, 0) + 999.7), '2026-10-03 16:00:00.999 UTC'));
  inZone('UTC', () => assert.equal(instantText(Date.UTC(2026, 9, 3, 16, 0, 0) + 0.4), '2026-10-03 16:00:00 UTC'));
});

test('a chart\u2019s reading, a stat\u2019s hover and a card\u2019s as-of write the same instant the same way', () => {
  inZone('Asia/Kolkata', () => {
    const t = Date.UTC(2026, 9, 3, 16, 0, 7);
    const later = t + 3 * 86400e3; // the as-of line gives the date only for another day than today
    assert.equal(xText(t / 1000, true), instantText(t));
    assert.equal(instantText(t), `${clockText(t, later)} UTC+5:30`);
  });
});

test('an axis of several days with ticks hours apart names each day at its midnight, in the viewer\u2019s zone', () => {
  const cases = [
    // [zone, first tick (UTC ms), hours between ticks, labels]
    ['America/Los_Angeles', Date.UTC(2026, 9, 31, 7), 12, ['Oct 31', '12:00', 'Nov 1', '12:00', 'Nov 2']], // 25 hours on the day clocks go back
    ['Asia/Kolkata', Date.UTC(2026, 9, 30, 18, 30), 6, ['Oct 31', '06:00', '12:00', '18:00', 'Nov 1']],
    ['Pacific/Chatham', Date.UTC(2026, 8, 26, 11, 15), 6, ['Sep 27', '06:00', '12:00', '18:00', 'Sep 28']], // 23 hours: clocks go forward
  ];
  for (const [tz, first, hours, want] of cases) {
    inZone(tz, () => {
      // uPlot places ticks at local clock times: after a change of offset, the next tick is an hour nearer or further.
      const ticks = [first];
      while (ticks.length < want.length) {
        const d = new Date(ticks[ticks.length - 1]);
        d.setHours(d.getHours() + hours);
        ticks.push(d.getTime());
      }
      assert.deepEqual(ticks.map((ms) => timeTick(ms / 1000, hours * 3600)), want, tz);
    });
  }
});
