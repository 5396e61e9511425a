// Columnar chart updates (docs/protocol.md §1.7) in Chromium: the page decodes the base64 float64
// columns of the data event (§2.2 `cols`) into the chart, gaps included.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { launchBrowser, newPage, openPage, startServer, waitFor } from './harness.mjs';

const T0 = 1764230400000;

/** A columnar update: "SVC1", the head's length (uint32 LE), the JSON head, x and y as float64 LE. */
function columns(xs, ys, head = {}) {
  const h = new TextEncoder().encode(JSON.stringify({ n: xs.length, ...head }));
  const b = new Uint8Array(8 + h.length + 16 * xs.length);
  b.set(new TextEncoder().encode('SVC1'), 0);
  new DataView(b.buffer).setUint32(4, h.length, true);
  b.set(h, 8);
  const dv = new DataView(b.buffer, 8 + h.length);
  xs.forEach((x, i) => dv.setFloat64(8 * i, x, true));
  ys.forEach((y, i) => dv.setFloat64(8 * (xs.length + i), y, true));
  return b;
}

test('a chart fed columnar updates draws every point, in order, with NaN y as gaps', async (t) => {
  const n = 3000;
  const xs = Array.from({ length: n }, (_, i) => T0 + i * 1000);
  const ys = xs.map((_, i) => (i % 100 === 7 ? NaN : i * 0.5));
  const { page, errors } = await openPage(t, [
    ['sv.bulk.config', { type: 'chart', title: 'Bulk', max_points: 5000 }],
    ['sv.bulk.data', columns(xs.slice(0, 2000), ys.slice(0, 2000))],
    ['sv.bulk.data', columns(xs.slice(2000), ys.slice(2000))],
  ], { path: '/embed/bulk', viewport: { width: 800, height: 600 } });
  const chart = '[data-widget-id="bulk"] sv-chart';
  await waitFor(() => page.evaluate((s) => document.querySelector(s)?.dataset.points === '3000', chart), 15000, 'every point');
  // Zoomed out to everything with no decimation: the plot holds the points as sent.
  const data = await page.evaluate((s) => {
    const el = document.querySelector(s);
    return { x: Array.from(el.plot.data[0]), y: Array.from(el.plot.data[1]) };
  }, chart);
  if (data.x.length === n) {
    assert.deepEqual(data.x, xs.map((x) => x / 1000));
    assert.deepEqual(data.y, ys.map((y) => (Number.isNaN(y) ? null : y)));
  } else {
    // Decimated to the plot's width: still the first and last x, and gaps stay gaps.
    assert.equal(data.x[0], T0 / 1000);
    assert.equal(data.x.at(-1), xs.at(-1) / 1000);
    assert.ok(data.y.includes(null), 'the gaps are drawn as gaps');
  }
  assert.deepEqual(errors, []);
});

const ROOT = new URL('../../', import.meta.url).pathname;
const PYTHON = process.env.STREAMVIZ_PYTHON || `${ROOT}.venv/bin/python`;

/** Runs the Python SDK against the server's bus: chart.extend from numpy, as a producer would. */
function pythonExtend(natsURL, n) {
  const script = `
import sys
import numpy as np
import stream_viz as sv
c = sv.chart("bulk", title="Bulk", max_points=5000)
sv.start(url=sys.argv[1], linger=False)
n = int(sys.argv[2])
xs = ${T0} + np.arange(n, dtype=np.int64) * 1000
ys = np.arange(n) * 0.5
ys[7::100] = np.nan
c.extend(xs[:2000], ys[:2000])
c.extend(xs[2000:], ys[2000:])
sv.stop(timeout=60)
s = sv.stats()
sys.exit(0 if s["published_updates"] == n and not s["undelivered_updates"] else f"not all published: {s}")
`;
  return new Promise((resolve, reject) => {
    const proc = spawn(PYTHON, ['-c', script, natsURL, String(n)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONPATH: `${ROOT}python/src` },
    });
    let out = '';
    proc.stdout.on('data', (d) => { out += d; });
    proc.stderr.on('data', (d) => { out += d; });
    proc.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`python exited ${code}:\n${out}`))));
  });
}

test('a chart fed by chart.extend arrives through binary frames and draws every point, gaps as gaps', async (t) => {
  const n = 3000;
  const server = await startServer({});
  t.after(() => server.stop());
  const browser = await launchBrowser(t);
  const errors = [];
  const page = await newPage(browser, errors);
  await page.setViewportSize({ width: 800, height: 600 });
  const frames = { binary: 0, text: 0, urls: [] };
  page.on('websocket', (ws) => {
    frames.urls.push(ws.url());
    ws.on('framereceived', (f) => {
      if (typeof f.payload === 'string') frames.text++;
      else frames.binary++;
    });
  });
  await page.goto(`http://${server.http}/`);
  await waitFor(() => page.evaluate(() => document.querySelector('#sv-conn')?.dataset.state === 'live'), 15000, 'the socket to go live');
  await pythonExtend(server.nats, n);
  const chart = '[data-widget-id="bulk"] sv-chart';
  await waitFor(() => page.evaluate(([s, want]) => document.querySelector(s)?.dataset.points === want, [chart, String(n)]), 15000, 'every point');
  const data = await page.evaluate((s) => {
    const el = document.querySelector(s);
    return { x: Array.from(el.plot.data[0]), y: Array.from(el.plot.data[1]) };
  }, chart);
  const xs = Array.from({ length: n }, (_, i) => T0 + i * 1000);
  const ys = xs.map((_, i) => (i % 100 === 7 ? null : i * 0.5));
  if (data.x.length === n) {
    assert.deepEqual(data.x, xs.map((x) => x / 1000));
    assert.deepEqual(data.y, ys);
  } else {
    assert.equal(data.x[0], T0 / 1000);
    assert.equal(data.x.at(-1), xs.at(-1) / 1000);
    assert.ok(data.y.includes(null), 'the gaps are drawn as gaps');
  }
  assert.ok(frames.urls.every((u) => new URL(u).searchParams.get('binary') === '1'), `sockets ${frames.urls}`);
  assert.ok(frames.binary >= 1, `the points came in binary frames (binary ${frames.binary}, text ${frames.text})`);
  assert.deepEqual(errors, []);
});
