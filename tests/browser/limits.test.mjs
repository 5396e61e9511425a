// Issue 10, findings 5 and 13: no config or update a publisher sends can crash or freeze the
// tabs that show it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect, JSONCodec } from 'nats';
import { launchBrowser, newPage, publish, startServer, waitFor } from './harness.mjs';

/** A server and a page on its dashboard; crashed() tells whether the tab died. */
async function openDashboard(t, extraArgs = []) {
  const server = await startServer({ extraArgs });
  t.after(() => server.stop());
  const browser = await launchBrowser(t);
  const errors = [];
  const page = await newPage(browser, errors);
  let died = false;
  page.on('crash', () => { died = true; });
  await page.goto(`http://${server.http}/`);
  return { server, page, errors, crashed: () => died };
}

test('a format spec of 200 million characters is refused by the server and bounded by the page', async (t) => {
  const { server, page, errors, crashed } = await openDashboard(t);
  // The publisher is told why, naming the field and the bound.
  for (const [subject, config, why] of [
    ['sv.t.config', { type: 'table', title: 'Crash table', column_format: { v: 'x>200000000' } }, 'width 200000000 is over 64'],
    ['sv.s.config', { type: 'stat', title: 'Crash stat', format: 'x>400000000' }, 'width 400000000 is over 64'],
  ]) {
    await assert.rejects(publish(server.nats, [[subject, config]]), (e) => String(e.message).includes(why), subject);
  }
  await publish(server.nats, [
    ['sv.t.data', { key: 'a', row: { v: 1 } }],
    ['sv.s.data', { value: 2 }],
    ['sv.ok.config', { type: 'stat', title: 'After', format: 'x>8' }],
    ['sv.ok.data', { value: 3 }],
  ]);
  await waitFor(async () => (await page.textContent('[data-widget-id="ok"] .sv-stat-value').catch(() => '')) === 'xxxxxxx3', 15000, 'the widget after them');
  // The data still shows, in the default format, in widgets that took the default config.
  assert.equal(await page.textContent('[data-widget-id="s"] .sv-stat-value'), '2');
  // The page's own formatter bounds whatever it is given.
  const len = await page.evaluate(async () => {
    const m = await import('./static/format.js');
    return [m.formatValue(1, 'x>400000000').length, m.formatValue(1, '.100f').length, m.formatValue(1, 'x>64').length];
  });
  assert.deepEqual(len, [1, 1, 64]);
  assert.equal(crashed(), false);
  assert.deepEqual(errors, []);
});

test('a chart offered 100,000 series keeps the first 100 and the page stays responsive', async (t) => {
  const { server, page, errors, crashed } = await openDashboard(t);
  await publish(server.nats, [['sv.many.config', { type: 'chart', title: 'Many series' }]]);
  const nc = await connect({ servers: server.nats.replace('nats://', '') });
  const js = nc.jetstream();
  const jc = JSONCodec();
  const total = 100000;
  try {
    // Acknowledged, a window at a time: the attempt of the finding, at a publisher's pace.
    for (let i = 0; i < total; i += 2000) {
      const acks = [];
      for (let j = i; j < Math.min(total, i + 2000); j++) acks.push(js.publish('sv.many.data', jc.encode({ series: `s${j}`, x: 1, y: j })));
      // Each past the limit is stored and answered with an error naming it (docs/protocol.md §1).
      for (const r of await Promise.allSettled(acks)) {
        if (r.status === 'rejected' && !/series limit reached/.test(String(r.reason?.message ?? r.reason))) throw r.reason;
      }
    }
  } finally {
    await nc.close();
  }
  const health = async () => (await fetch(`http://${server.http}/healthz`)).json();
  await waitFor(async () => (await health()).rejected === total - 100, 120000, `${total - 100} series refused`);
  const items = () => page.$$eval('[data-widget-id="many"] .sv-legend-item', (els) => els.length);
  await waitFor(async () => (await items()) === 100, 30000, 'the chart with its 100 series');
  // The page still answers and still takes live updates.
  await publish(server.nats, [['sv.after.config', { type: 'stat', title: 'After' }], ['sv.after.data', { value: 7 }]]);
  await waitFor(async () => (await page.textContent('[data-widget-id="after"] .sv-stat-value').catch(() => '')) === '7', 30000, 'a widget after the flood');
  assert.equal(crashed(), false);
  assert.deepEqual(errors, []);
});

test('a dashboard at its widget limit says in its banner that new widgets are refused', async (t) => {
  const { server, page, errors, crashed } = await openDashboard(t, ['--max-widgets', '2']);
  await publish(server.nats, [['sv.a.data', { value: 1 }], ['sv.b.data', { value: 2 }]]);
  await waitFor(async () => (await page.locator('[data-widget-id]').count()) === 2, 15000, 'the two widgets');
  assert.equal(await page.locator('#sv-ingest').count(), 0, 'no banner below the limit');
  // Each is refused with the reason, acknowledged or not (docs/protocol.md §1).
  for (const subject of ['sv.c.data', 'sv.d.data']) {
    await assert.rejects(publish(server.nats, [[subject, { value: 3 }]]), (e) => String(e.message).includes('widget limit reached'), subject);
  }
  const want = '2 updates naming a new widget were refused: the dashboard holds as many widgets as its limit allows (2, --max-widgets).';
  // The page polls /healthz every 5 s.
  await waitFor(async () => (await page.locator('#sv-ingest').textContent().catch(() => '')) === want, 30000, `the banner "${want}"`);
  assert.equal(await page.locator('[data-widget-id]').count(), 2);
  assert.equal(crashed(), false);
  assert.deepEqual(errors, []);
});
