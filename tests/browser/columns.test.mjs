// Columnar chart updates (docs/protocol.md §1.7) in Chromium: the page decodes the base64 float64
// columns of the data event (§2.2 `cols`) into the chart, gaps included.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { launchBrowser, newPage, openPage, publish, startServer, waitFor } from './harness.mjs';

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

/**
 * A server and a page (not yet opened) on viewport that counts the frames its sockets receive,
 * text and binary, and records their URLs.
 */
async function frameCountingPage(t, viewport) {
  const server = await startServer({});
  t.after(() => server.stop());
  const browser = await launchBrowser(t);
  const errors = [];
  const page = await newPage(browser, errors);
  await page.setViewportSize(viewport);
  const frames = { binary: 0, text: 0, urls: [] };
  page.on('websocket', (ws) => {
    frames.urls.push(ws.url());
    ws.on('framereceived', (f) => {
      if (typeof f.payload === 'string') frames.text++;
      else frames.binary++;
    });
  });
  return { server, page, errors, frames };
}

test('a chart fed by chart.extend arrives through binary frames and draws every point, gaps as gaps', async (t) => {
  const n = 3000;
  const { server, page, errors, frames } = await frameCountingPage(t, { width: 800, height: 600 });
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

/**
 * A columnar table update (docs/protocol.md §1.8) keyed by int64 keys: "SVT1", the head's length,
 * the JSON head, the keys, then each column (i64 and f64 as 8 bytes LE, json as lengths then texts).
 */
function tableColumns(keys, cols) {
  const enc = new TextEncoder();
  const head = enc.encode(JSON.stringify({ n: keys.length, columns: cols.map((c) => c.name), types: cols.map((c) => c.type), key_type: 'i64' }));
  const parts = [enc.encode('SVT1'), new Uint8Array(new Uint32Array([head.length]).buffer), head];
  const num = (vs, set) => {
    const b = new Uint8Array(8 * vs.length);
    const dv = new DataView(b.buffer);
    vs.forEach((v, i) => set(dv, 8 * i, v));
    return b;
  };
  parts.push(num(keys, (dv, o, v) => dv.setBigInt64(o, BigInt(v), true)));
  for (const c of cols) {
    if (c.type === 'i64') parts.push(num(c.values, (dv, o, v) => dv.setBigInt64(o, BigInt(v), true)));
    else if (c.type === 'f64') parts.push(num(c.values, (dv, o, v) => dv.setFloat64(o, v, true)));
    else {
      const texts = c.values.map((v) => enc.encode(JSON.stringify(v)));
      parts.push(new Uint8Array(new Uint32Array(texts.map((x) => x.length)).buffer), ...texts);
    }
  }
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

test('a table fed columnar updates gets them through binary frames as columns and shows every row as sent', async (t) => {
  const n = 200;
  const { server, page, errors, frames } = await frameCountingPage(t, { width: 1024, height: 900 });
  await publish(server.nats, [['sv.tc.config', { type: 'table', title: 'Cols', columns: ['id', 'v', 'name'], sort_by: 'id', sort_desc: false, max_rows: n }]]);
  await page.goto(`http://${server.http}/`);
  await waitFor(() => page.evaluate(() => document.querySelector('#sv-conn')?.dataset.state === 'live'), 15000, 'the socket to go live');
  const keys = Array.from({ length: n }, (_, i) => i - 3);
  await publish(server.nats, [['sv.tc.data', tableColumns(keys, [
    { name: 'id', type: 'i64', values: keys },
    { name: 'v', type: 'f64', values: keys.map((k) => (k === 5 ? NaN : k * 0.25)) },
    { name: 'name', type: 'json', values: keys.map((k) => (k % 2 ? 'odd "one"' : 'even')) },
  ])]]);
  const rows = '[data-widget-id="tc"] tr[data-key]';
  await waitFor(() => page.evaluate(([s, want]) => document.querySelectorAll(s).length === want, [rows, n]), 15000, 'every row');
  const got = await page.evaluate((s) => [...document.querySelectorAll(s)].map((r) => [r.dataset.key, ...[...r.querySelectorAll('td')].map((td) => td.textContent)]), rows);
  assert.deepEqual(got.map((r) => r[0]), keys.map(String));
  const row = (k) => got.find((r) => r[0] === String(k));
  assert.equal(row(-3)[3], 'odd "one"');
  assert.equal(row(4)[3], 'even');
  assert.equal(row(5)[2], '—', 'a NaN cell is null, shown as a dash');
  assert.ok(frames.binary >= 1, `the rows came in a binary frame (binary ${frames.binary}, text ${frames.text})`);
  assert.deepEqual(errors, []);
});
