// Issue 14's interaction figures, in headless Chromium, each while the chart receives 1,000
// points/s:
//   zoom   a 100,000-point line chart zoomed with Ctrl+wheel: the time from the wheel event to the
//          zoomed picture (drawn, then the next animation frame), for the first zoom (which holds
//          the view, taking every point undecimated) and the ones after it, in and out; and
//          "resume" back to the live, decimated view.
//   png    the card's PNG export (web/png.js, the menu's "PNG") of that chart 1,000 px wide.
// Prints one JSON line.
//   node bench/browser/interact.mjs [--quick]
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { launchBrowser, publish, startServer } from '../../tests/browser/harness.mjs';

const require = createRequire(new URL('../../tests/browser/package.json', import.meta.url));
const { connect, JSONCodec } = require('nats');

const { values } = parseArgs({ options: { quick: { type: 'boolean' } } });
const quick = !!values.quick;
const POINTS = 100000;
const ZOOMS = quick ? 6 : 20;
const PNGS = quick ? 3 : 10;
const X0 = 1_700_000_000_000;

const server = await startServer({});
const browser = await launchBrowser({ after: () => {} });
try {
  const msgs = [['sv.big.config', { type: 'chart', title: 'big', max_points: POINTS }]];
  for (let i = 0; i < POINTS; i += 10000) {
    const pts = [];
    for (let k = i; k < i + 10000; k++) pts.push([X0 + k * 100, Math.sin(k / 500) + Math.random() * 0.2]);
    msgs.push(['sv.big.data', { points: pts }]);
  }
  await publish(server.nats, msgs);
  // The embed page: the card is the page, so a 1,000 px viewport makes a 1,000 px card.
  const page = await browser.newPage({ viewport: { width: 1000, height: 600 } });
  await page.goto(`http://${server.http}/embed/big`);
  await page.waitForFunction((n) => document.querySelector('sv-chart')?.dataset.points === String(n) && document.querySelector('sv-chart').plot, POINTS, { timeout: 60000 });

  const nc = await connect({ servers: server.nats.replace('nats://', '') });
  const jc = JSONCodec();
  let x = X0 + POINTS * 100;
  const timer = setInterval(() => {
    const pts = [];
    for (let i = 0; i < 50; i++) pts.push([(x += 100), Math.random()]);
    nc.publish('sv.big.data', jc.encode({ points: pts }));
  }, 50);
  await page.waitForTimeout(1000);

  const zoom = await page.evaluate(async (n) => {
    const c = document.querySelector('sv-chart');
    const over = c.plot.over;
    const r = over.getBoundingClientRect();
    const frame = () => new Promise((res) => requestAnimationFrame(() => res(performance.now())));
    /** One Ctrl+wheel notch at 60% of the plot's width: [drawn ms, next frame ms]. */
    async function wheel(deltaY) {
      await frame();
      const t0 = performance.now();
      over.dispatchEvent(new WheelEvent('wheel', { deltaY, ctrlKey: true, clientX: r.left + r.width * 0.6, clientY: r.top + r.height / 2, bubbles: true, cancelable: true }));
      // uPlot draws in a microtask after the scale change.
      await Promise.resolve();
      await Promise.resolve();
      const drawn = performance.now() - t0;
      return [drawn, (await frame()) - t0];
    }
    const full = c.plot.scales.x.max - c.plot.scales.x.min;
    const first = await wheel(-100);
    const more = [];
    for (let i = 0; i < n; i++) more.push(await wheel(i < n / 2 ? -100 : 100));
    const held = c.dataset.held === '1';
    const span = c.plot.scales.x.max - c.plot.scales.x.min;
    const rows = c.plot.data[0].length;
    await frame();
    const t0 = performance.now();
    c.querySelector('.sv-held-resume').click();
    // Resume redraws in the next frame (the widget's frame callback).
    await frame();
    const resume = performance.now() - t0;
    return { first, more, held, span_ratio: span / full, rows_held: rows, resume, live_again: c.dataset.held === undefined };
  }, ZOOMS);

  const png = await page.evaluate(async (n) => {
    const { cardPNG } = await import(new URL('../static/png.js', location.href).href);
    const card = document.querySelector('.sv-card');
    const ts = [];
    let size = 0;
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const blob = await cardPNG(card);
      ts.push(performance.now() - t0);
      size = blob.size;
    }
    const b = card.getBoundingClientRect();
    return { ms: ts, bytes: size, width: b.width, height: b.height, dpr: devicePixelRatio };
  }, PNGS);
  clearInterval(timer);
  await nc.close();

  const sorted = (a) => [...a].sort((p, q) => p - q);
  const med = (a) => sorted(a)[Math.floor(a.length / 2)];
  const p95 = (a) => sorted(a)[Math.min(a.length - 1, Math.floor(a.length * 0.95))];
  const drawn = zoom.more.map((z) => z[0]);
  const framed = zoom.more.map((z) => z[1]);
  console.log(JSON.stringify({
    workload: 'browser_interaction', system: 'streamviz', quick, chart_points: POINTS, live_points_per_s: 1000,
    zoom_first_drawn_ms: zoom.first[0], zoom_first_frame_ms: zoom.first[1],
    zoom_drawn_ms_median: med(drawn), zoom_drawn_ms_max: Math.max(...drawn),
    zoom_frame_ms_median: med(framed), zoom_frame_ms_p95: p95(framed), zoom_frame_ms_max: Math.max(...framed),
    zooms: zoom.more.length, zoom_held: zoom.held, zoom_span_ratio_after: zoom.span_ratio, zoom_rows_held: zoom.rows_held,
    resume_ms: zoom.resume, resume_live: zoom.live_again,
    png_width_px: png.width, png_height_px: png.height, png_dpr: png.dpr, png_bytes: png.bytes,
    png_ms_median: med(png.ms), png_ms_max: Math.max(...png.ms), png_runs: png.ms.length,
  }));
} finally {
  await browser.close();
  await server.stop();
}
