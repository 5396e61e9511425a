// Issue 10, findings 5 and 13, measured in Debian's Chromium (docs/reliability.md):
// the renderer's memory and the page's responsiveness for the finding's format specs
// and for 100,000 series offered to one chart.
//   make build && node bench/hardening/browser.mjs > bench/hardening/results/browser.json
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { launchBrowser, newPage, publish, startServer, waitFor } from '../../tests/browser/harness.mjs';
const { connect, JSONCodec } = createRequire(new URL('../../tests/browser/package.json', import.meta.url))('nats');

const hooks = [];
const t = { after: (f) => hooks.push(f) };

/** Resident memory of this run's Chromium renderer processes (descendants of this process), MiB. */
function rendererRSS() {
  const parent = new Map();
  const pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      parent.set(pid, stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch { /* gone */ }
  }
  const mine = (pid) => {
    for (let p = pid; p && p !== '0' && p !== '1'; p = parent.get(p)) if (p === String(process.pid)) return true;
    return false;
  };
  let kb = 0;
  for (const pid of pids) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('--type=renderer') || !mine(pid)) continue;
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch { /* gone */ }
  }
  return Math.round(kb / 1024);
}

async function heapMiB(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const { metrics } = await cdp.send('Performance.getMetrics');
  await cdp.detach();
  return Math.round(metrics.find((m) => m.name === 'JSHeapUsedSize').value / 1048576);
}

/**
 * The page's longest event-loop stall while f runs: the largest lateness of a 50-ms timer inside
 * the page (measured there, so the load of this process, which publishes, does not count).
 */
async function worstStall(page, f) {
  await page.evaluate(() => {
    const w = /** @type {any} */ (window);
    w.__worst = 0;
    let last = performance.now();
    w.__probe = setInterval(() => {
      const now = performance.now();
      w.__worst = Math.max(w.__worst, now - last - 50);
      last = now;
    }, 50);
  });
  try { await f(); } finally {
    await page.evaluate(() => clearInterval(/** @type {any} */ (window).__probe));
  }
  return Math.round(await page.evaluate(() => /** @type {any} */ (window).__worst));
}

const out = { chromium: '', load: (await import('node:os')).loadavg()[0], cases: {} };
try {
  const server = await startServer({});
  hooks.push(() => server.stop());
  const browser = await launchBrowser(t);
  out.chromium = browser.version();
  const errors = [];
  const page = await newPage(browser, errors);
  let crashed = false;
  page.on('crash', () => { crashed = true; });
  await page.goto(`http://${server.http}/`);
  await publish(server.nats, [['sv.base.config', { type: 'stat', title: 'Base' }], ['sv.base.data', { value: 1 }]]);
  await waitFor(async () => (await page.textContent('[data-widget-id="base"] .sv-stat-value').catch(() => '')) === '1', 15000, 'base');
  // The machine's own noise: the longest answer of an idle page over 10 s.
  const idleStall = await worstStall(page, () => new Promise((r) => setTimeout(r, 10000)));
  out.cases.idle = { renderer_rss_mib: rendererRSS(), js_heap_mib: await heapMiB(page), page_worst_stall_ms: idleStall };

  // Finding 5: the two configs of the finding (refused by the server), their data, and the
  // page's formatter given the specs directly.
  const refused = [];
  for (const [subject, config] of [
    ['sv.t.config', { type: 'table', title: 'Crash table', column_format: { v: 'x>200000000' } }],
    ['sv.s.config', { type: 'stat', title: 'Crash stat', format: 'x>400000000' }],
  ]) {
    try { await publish(server.nats, [[subject, config]]); refused.push(null); } catch (e) { refused.push(String(e.message)); }
  }
  await publish(server.nats, [['sv.t.data', { key: 'a', row: { v: 1 } }], ['sv.s.data', { value: 2 }]]);
  await waitFor(async () => (await page.textContent('[data-widget-id="s"] .sv-stat-value').catch(() => '')) === '2', 15000, 'stat s');
  const lens = await page.evaluate(async () => {
    const m = await import('./static/format.js');
    const t0 = performance.now();
    const r = [m.formatValue(1, 'x>200000000').length, m.formatValue(1, 'x>400000000').length];
    return { lengths: r, ms: performance.now() - t0 };
  });
  out.cases.format_spec = { server_refusals: refused, formatter_output_lengths: lens.lengths, formatter_ms: Math.round(lens.ms * 100) / 100,
    renderer_rss_mib: rendererRSS(), js_heap_mib: await heapMiB(page), crashed, page_errors: [...errors] };

  // Finding 13: 100,000 series offered to one chart, acknowledged, 2,000 in flight.
  await publish(server.nats, [['sv.many.config', { type: 'chart', title: 'Many series' }]]);
  const nc = await connect({ servers: server.nats.replace('nats://', '') });
  const js = nc.jetstream();
  const jc = JSONCodec();
  const total = 100000;
  let peak = 0;
  const sampler = setInterval(() => { peak = Math.max(peak, rendererRSS()); }, 200);
  const t0 = performance.now();
  let shown = 0;
  const stall = await worstStall(page, async () => {
    for (let i = 0; i < total; i += 2000) {
      const acks = [];
      for (let j = i; j < Math.min(total, i + 2000); j++) acks.push(js.publish('sv.many.data', jc.encode({ series: `s${j}`, x: 1, y: j })));
      await Promise.all(acks);
    }
    await waitFor(async () => (await (await fetch(`http://${server.http}/healthz`)).json()).rejected >= total - 100, 120000, 'refusals');
    shown = await page.$$eval('[data-widget-id="many"] .sv-legend-item', (els) => els.length);
  });
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  await nc.close();
  const h = await (await fetch(`http://${server.http}/healthz`)).json();
  out.cases.series_100k = { published: total, accepted_series: shown, rejected: h.rejected, seconds: Math.round(seconds * 10) / 10,
    page_worst_stall_ms: stall, renderer_rss_peak_mib: peak, renderer_rss_after_mib: rendererRSS(), js_heap_mib: await heapMiB(page), crashed, page_errors: [...errors] };
} finally {
  for (const f of hooks.reverse()) await f();
}
console.log(JSON.stringify(out, null, 1));
