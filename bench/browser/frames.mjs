// Workload 5: frame times of the dashboard in headless Chromium while 10 charts of 10,000 points
// each receive 1,000 points/s and a 10,000-row table receives 1,000 row updates/s. Run once per
// variant, each switching on a feature of issue 14 (or all of them):
//   baseline      one line series per chart, the default dark theme
//   theme_font    a custom theme (accent, background, radius) with a custom font stack
//   legends       three series per chart (the points split among them), one hidden from its legend
//   zoomed        every chart zoomed to the middle half of its range: held, counting new points
//   stacked_bar   chart_type stacked_bar, two series per chart
//   all           all of the above at once (stacked bars with three series, one hidden)
// Prints one JSON line per variant: p50/p95/p99 requestAnimationFrame deltas and long tasks over
// the measured window.
//   node bench/browser/frames.mjs [--quick] [--seconds N] [--variant NAME]...
import { parseArgs } from 'node:util';
import { launchBrowser, publish, startServer } from '../../tests/browser/harness.mjs';
import { createRequire } from 'node:module';

// The browser tests' node_modules hold nats and playwright-core; reuse them.
const require = createRequire(new URL('../../tests/browser/package.json', import.meta.url));
const { connect, JSONCodec } = require('nats');

const VARIANTS = ['baseline', 'theme_font', 'legends', 'zoomed', 'stacked_bar', 'all'];
const { values } = parseArgs({ options: { quick: { type: 'boolean' }, seconds: { type: 'string' }, variant: { type: 'string', multiple: true } } });
const quick = !!values.quick;
const CHARTS = quick ? 3 : 10;
const POINTS = quick ? 2000 : 10000;
const ROWS = quick ? 2000 : 10000;
const RATE = 1000; // points/s across the charts, and row updates/s
const SECONDS = Number(values.seconds ?? (quick ? 5 : 20));
const variants = values.variant ?? (quick ? ['baseline', 'all'] : VARIANTS);
for (const v of variants) if (!VARIANTS.includes(v)) throw new Error(`unknown variant ${v}: want one of ${VARIANTS.join(', ')}`);

const THEME = { mode: 'dark', accent: '#7c3aed', background: '#0b1020', font: "Georgia, 'DejaVu Serif', serif", radius: 8 };

/** @param {string} variant */
function features(variant) {
  const all = variant === 'all';
  return {
    theme: all || variant === 'theme_font',
    series: all || variant === 'legends' ? ['a', 'b', 'c'] : variant === 'stacked_bar' ? ['a', 'b'] : [''],
    hideOne: all || variant === 'legends',
    zoomed: all || variant === 'zoomed',
    chartType: all || variant === 'stacked_bar' ? 'stacked_bar' : 'line',
  };
}

const fakeT = { after: () => {} };
const browser = await launchBrowser(fakeT);
try {
  for (const variant of variants) console.log(JSON.stringify(await run(variant)));
} finally {
  await browser.close();
}

/** @param {string} variant */
async function run(variant) {
  const f = features(variant);
  const perSeries = Math.floor(POINTS / f.series.length);
  const server = await startServer({});
  try {
    // Retained state first: every chart full, every row present.
    const msgs = [['sv.$dashboard.config', { title: 'frame-time bench', ...(f.theme ? { theme: THEME } : {}) }]];
    for (let c = 0; c < CHARTS; c++) {
      msgs.push([`sv.c${c}.config`, { type: 'chart', title: `chart ${c}`, chart_type: f.chartType, max_points: perSeries, order: c }]);
      f.series.forEach((name, k) => {
        const pts = [];
        for (let i = 0; i < perSeries; i++) pts.push([1_700_000_000_000 + i * 100, 1 + k + Math.sin(i / 50)]);
        for (let i = 0; i < pts.length; i += 5000) msgs.push([`sv.c${c}.data`, { ...(name ? { series: name } : {}), points: pts.slice(i, i + 5000) }]);
      });
    }
    msgs.push(['sv.rows.config', { type: 'table', title: 'rows', max_rows: 100, sort_by: 'v', order: 99 }]);
    for (let i = 0; i < ROWS; i += 2000) {
      const ops = [];
      for (let k = i; k < Math.min(ROWS, i + 2000); k++) ops.push({ key: `k${k}`, row: { k: `k${k}`, v: k } });
      msgs.push(['sv.rows.data', { ops }]);
    }
    await publish(server.nats, msgs);

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(`http://${server.http}/`);
    await page.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 30000 });
    await page.waitForFunction((n) => [...document.querySelectorAll('sv-chart')].filter((c) => c.plot).length === n, CHARTS, { timeout: 30000 });
    if (f.theme) await page.waitForFunction(() => getComputedStyle(document.body).fontFamily.includes('Georgia'), null, { timeout: 10000 });
    if (f.hideOne) {
      // The legend's last entry, clicked as a reader would: that series leaves the plot (and stack).
      for (let c = 0; c < CHARTS; c++) await page.locator(`[data-widget-id="c${c}"] .sv-legend-item`).last().click();
      // Clicking scrolled the page; every variant measures the same view, the top of the page.
      await page.evaluate(() => window.scrollTo(0, 0));
    }
    if (f.zoomed) {
      // The middle half of each chart's range, as Ctrl+wheel or + would leave it.
      await page.evaluate(() => {
        for (const c of document.querySelectorAll('sv-chart')) {
          const { min, max } = c.plot.scales.x;
          c.zoomX((min + max) / 2, 0.5);
        }
      });
    }

    // Live load: every 50 ms, RATE/20 chart points spread over the charts and RATE/20 row updates.
    const nc = await connect({ servers: server.nats.replace('nats://', '') });
    const jc = JSONCodec();
    let x = 1_700_000_000_000 + perSeries * 100;
    let sent = 0;
    const timer = setInterval(() => {
      const per = RATE / 20;
      for (let c = 0; c < CHARTS; c++) {
        // The chart's share of the points, at x shared by its series (as sampled together).
        const xs = [];
        for (let i = 0; i < per / CHARTS / f.series.length; i++) xs.push((x += 10));
        for (const name of f.series) {
          nc.publish(`sv.c${c}.data`, jc.encode({ ...(name ? { series: name } : {}), points: xs.map((xi) => [xi, Math.random()]) }));
        }
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
    const probe = await page.evaluate(() => ({
      points: [...document.querySelectorAll('sv-chart[data-points]')].map((e) => Number(e.getAttribute('data-points'))),
      held: document.querySelectorAll('sv-chart[data-held]').length,
      heldNew: [...document.querySelectorAll("sv-chart[data-held] .sv-held-text")].map((e) => e.textContent),
      hiddenSeries: document.querySelectorAll('.sv-legend-item[aria-pressed="false"]').length,
      font: getComputedStyle(document.body).fontFamily,
    }));
    await page.close();
    return {
      workload: 'browser', system: 'streamviz', variant, quick, charts: CHARTS, points_per_chart: perSeries * f.series.length,
      series_per_chart: f.series.length, chart_type: f.chartType, rows: ROWS,
      rate_points_per_s: RATE, rate_rows_per_s: RATE, seconds: SECONDS, frames: d.length,
      frame_ms_p50: q(0.5), frame_ms_p95: q(0.95), frame_ms_p99: q(0.99), frame_ms_max: d[d.length - 1],
      long_tasks: stats.longTasks.length, long_task_ms_total: stats.longTasks.reduce((a, b) => a + b, 0),
      updates_sent: sent, chart_points_held: probe.points, charts_held: probe.held, held_note: probe.heldNew[0] ?? null,
      series_hidden: probe.hiddenSeries, font: probe.font,
    };
  } finally {
    await server.stop();
  }
}
