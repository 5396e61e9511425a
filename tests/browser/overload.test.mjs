// Issue 11, "Overload": a core publisher beyond what the server can take has its lost updates
// counted exactly (published = stored + dropped) and the dashboard says so in a banner.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, JSONCodec } from 'nats';
import { ingestBanner } from '../../web/page.js';
import { openPage, waitFor } from './harness.mjs';

/** @param {string} http */
async function health(http) {
  const res = await fetch(`http://${http}/healthz`);
  return /** @type {{ingest: {queued: number, stored: number, dropped: number, bus_disconnects: number}}} */ (await res.json());
}

test('a core flood past the ingest queue is counted exactly and the page shows the banner', async (t) => {
  // A queue of a few dozen updates, so a burst from one connection overflows it on any machine.
  const { server, page, errors } = await openPage(t, [['sv.flood.config', { type: 'chart', title: 'Flood', max_points: 100000 }]],
    { server: { extraArgs: ['--ingest-queue-bytes', '16KiB'] } });
  await waitFor(async () => (await page.locator('[data-widget-id="flood"]').count()) === 1, 15000, 'the chart');
  assert.equal(await page.locator('#sv-ingest').count(), 0, 'no banner before any drop');

  const before = await health(server.http);
  const n = 100000;
  const nc = await connect({ servers: server.nats.replace('nats://', '') });
  const jc = JSONCodec();
  // Core publishes, no acknowledgements, as fast as the client writes them.
  for (let i = 0; i < n; i++) nc.publish('sv.flood.data', jc.encode({ x: i, y: i }));
  await nc.flush();
  await nc.close();

  // Every update is stored or counted as dropped. The one exception is a close of the gateway's
  // ingest connection by the bus (a slow consumer on a starved machine): what was published
  // while it reconnected reached no one and cannot be counted, and the banner says so instead.
  let h = before;
  const cut = () => h.ingest.bus_disconnects > before.ingest.bus_disconnects;
  await waitFor(async () => {
    h = await health(server.http);
    const sum = (h.ingest.stored - before.ingest.stored) + (h.ingest.dropped - before.ingest.dropped);
    return h.ingest.queued === 0 && (sum === n || (cut() && sum <= n));
  }, 60000, `published ${n} = stored + dropped in /healthz (last: ${JSON.stringify(h.ingest)})`);
  const dropped = h.ingest.dropped - before.ingest.dropped;
  assert.ok(dropped > 0 || cut(), `a 16 KiB queue took a burst of ${n} without dropping: the test did not overload it`);

  // The page polls /healthz and says what it says: the count, and any cut.
  let want = '';
  await waitFor(async () => {
    want = ingestBanner(await health(server.http)) ?? '';
    return want !== '' && (await page.locator('#sv-ingest').textContent().catch(() => '')) === want;
  }, 60000, `the banner "${want}"`);
  if (cut()) assert.ok(want.includes('may be lost, uncounted'), want);
  else assert.equal(want, `${h.ingest.dropped.toLocaleString('en-US')} updates from publishers were dropped: the bus was overloaded.`);
  assert.equal(await page.locator('#sv-ingest').getAttribute('role'), 'alert');

  // What was stored is what the chart holds, in the order it was published.
  const stored = h.ingest.stored - before.ingest.stored;
  const res = await fetch(`http://${server.http}/api/widgets/flood`);
  const points = /** @type {{state: {points: [number, number][]}}} */ (await res.json()).state.points;
  if (cut()) assert.ok(points.length >= stored && points.length <= n, `${points.length} points, ${stored} stored`);
  else assert.equal(points.length, stored, 'the chart holds every stored update');
  for (let i = 1; i < points.length; i++) assert.ok(points[i][0] > points[i - 1][0], `points in order at ${i}`);
  assert.deepEqual(errors, []);
});
