// Workload 5: frame times of the dashboard in headless Chromium while 10 charts
// of 10,000 points each receive 1,000 points/s and a 10,000-row table receives
// 1,000 row updates/s. Prints one JSON line: p50/p95/p99 requestAnimationFrame
// deltas and long tasks over the measured window.
//   node bench/browser/frames.mjs [--quick] [--seconds N]
import { parseArgs } from 'node:util';
import { launchBrowser, publish, startServer } from '../../tests/browser/harness.mjs';
import { createRequire } from 'node:module';

// The browser tests' node_modules hold nats and playwright-core; reuse them.
const require = createRequire(new URL('../../tests/browser/package.json', import.meta.url));
const { connect, JSONCodec } = require('nats');

const { values } = parseArgs({ options: { quick: { type: 'boolean' }, seconds: { type: 'string' } } });
const quick = !!values.quick;
const CHARTS = quick ? 3 : 10;
const POINTS = quick ? 2000 : 10000;
const ROWS = quick ? 2000 : 10000;
const RATE = 1000; // points/s across the charts, and row updates/s
const SECONDS = Number(values.seconds ?? (quick ? 5 : 20));

const fakeT = { after: () => {} };
const server = await startServer({});
try {
  // Retained state first: every chart full, every row present.
  const msgs = [['sv.$dashboard.config', { title: 'frame-time bench' }]];
  for (let c = 0; c < CHARTS; c++) {
    msgs.push([`sv.c${c}.config`, { type: 'chart', title: `chart ${c}`, max_points: POINTS, order: c }]);
    const pts = [];
    for (let i = 0; i < POINTS; i++) pts.push([1_700_000_000_000 + i * 100, Math.sin(i / 50)]);
    for (let i = 0; i < pts.length; i += 5000) msgs.push([`sv.c${c}.data`, { points: pts.slice(i, i + 5000) }]);
  }
  msgs.push(['sv.rows.config', { type: 'table', title: 'rows', max_rows: 100, sort_by: 'v', order: 99 }]);
  for (let i = 0; i < ROWS; i += 2000) {
    const ops = [];
    for (let k = i; k < Math.min(ROWS, i + 2000); k++) ops.push({ key: `k${k}`, row: { k: `k${k}`, v: k } });
    msgs.push(['sv.rows.data', { ops }]);
  }
  await publish(server.nats, msgs);

  const browser = await launchBrowser(fakeT);
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(`http://${server.http}/`);
  await page.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 30000 });

  // Live load: every 50 ms, RATE/20 chart points spread over the charts and RATE/20 row updates.
  const nc = await connect({ servers: server.nats.replace('nats://', '') });
  const jc = JSONCodec();
  let x = 1_700_000_000_000 + POINTS * 100;
  let sent = 0;
  const timer = setInterval(() => {
    const per = RATE / 20;
    for (let c = 0; c < CHARTS; c++) {
      const pts = [];
      for (let i = 0; i < per / CHARTS; i++) pts.push([(x += 10), Math.random()]);
      nc.publish(`sv.c${c}.data`, jc.encode({ points: pts }));
    }
    const ops = [];
    for (let i = 0; i < per; i++) {
      const k = Math.floor(Math.random() * ROWS);
      ops.push({ key: `k${k}`, row: { k: `k${k}`, v: Math.random() * ROWS } });
    }
    nc.publish('sv.rows.data', jc.encode({ ops }));
    sent += per;
  }, 50);

  await page.waitForTimeout(2000); // warm-up
  const stats = await page.evaluate(async (ms) => {
    const deltas = [];
    const longTasks = [];
    const obs = new PerformanceObserver((l) => { for (const e of l.getEntries()) longTasks.push(e.duration); });
    try { obs.observe({ type: 'longtask', buffered: false }); } catch { /* not supported */ }
    await new Promise((resolve) => {
      let last = performance.now();
      const end = last + ms;
      const tick = (t) => {
        deltas.push(t - last);
        last = t;
        if (t < end) requestAnimationFrame(tick); else resolve();
      };
      requestAnimationFrame(tick);
    });
    obs.disconnect();
    return { deltas, longTasks };
  }, SECONDS * 1000);
  clearInterval(timer);
  await nc.close();
  const d = stats.deltas.slice(1).sort((a, b) => a - b);
  const q = (p) => d[Math.min(d.length - 1, Math.floor(p * d.length))];
  const chartPoints = await page.evaluate(() => [...document.querySelectorAll('[data-points]')].map((e) => Number(e.getAttribute('data-points'))));
  console.log(JSON.stringify({
    workload: 'browser', system: 'streamviz', quick, charts: CHARTS, points_per_chart: POINTS, rows: ROWS,
    rate_points_per_s: RATE, rate_rows_per_s: RATE, seconds: SECONDS, frames: d.length,
    frame_ms_p50: q(0.5), frame_ms_p95: q(0.95), frame_ms_p99: q(0.99), frame_ms_max: d[d.length - 1],
    long_tasks: stats.longTasks.length, long_task_ms_total: stats.longTasks.reduce((a, b) => a + b, 0),
    updates_sent: sent, chart_points_held: chartPoints,
  }));
  await browser.close();
} finally {
  await server.stop();
}
