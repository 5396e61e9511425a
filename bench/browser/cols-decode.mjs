// What a browser spends to take one 50,000-point chart update in each wire form (docs/protocol.md
// §2.2): the JSON points the server sent before, the base64 `cols` event it sends for columnar
// updates, and (for comparison, not on the wire) a binary frame holding the raw float64 columns.
// Each form is parsed and decoded into plain x/y arrays, as web/state.js fills a series, in
// Debian's Chromium. Prints one JSON line: milliseconds per update (median of --reps) and bytes.
//   node bench/browser/cols-decode.mjs [--reps 5]
import { parseArgs } from 'node:util';
import { launchBrowser } from '../../tests/browser/harness.mjs';

const { values } = parseArgs({ options: { reps: { type: 'string' } } });
const reps = Number(values.reps ?? 5);
let close = () => {};
const browser = await launchBrowser({ after: (f) => { close = f; } });
try {
  const page = await browser.newPage();
  const runs = [];
  for (let r = 0; r < reps; r++) {
    runs.push(await page.evaluate(() => {
      const n = 50000;
      const xs = new Float64Array(n);
      const ys = new Float64Array(n);
      for (let i = 0; i < n; i++) { xs[i] = 1.767e12 + i; ys[i] = i % 97 === 3 ? NaN : Math.random(); }
      const b64 = (a) => {
        let s = '';
        const u = new Uint8Array(a.buffer);
        for (let i = 0; i < u.length; i += 8192) s += String.fromCharCode(...u.subarray(i, i + 8192));
        return btoa(s);
      };
      const cols = JSON.stringify([{ type: 'data', seq: 2, prev: 1, id: 'c', data: { series: '', cols: { n, x: b64(xs), y: b64(ys) }, mode: 'append' } }]);
      const pts = Array.from(xs, (x, i) => [x, Number.isNaN(ys[i]) ? null : ys[i]]);
      const json = JSON.stringify([{ type: 'data', seq: 2, prev: 1, id: 'c', data: { series: '', points: pts, mode: 'append' } }]);
      const bin = new Uint8Array(16 * n);
      bin.set(new Uint8Array(xs.buffer), 0);
      bin.set(new Uint8Array(ys.buffer), 8 * n);
      const fromB64 = typeof Uint8Array.fromBase64 === 'function' ? (t) => Uint8Array.fromBase64(t) : (t) => Uint8Array.from(atob(t), (c) => c.charCodeAt(0));
      let keep;
      const fill = (xb, yb) => {
        const xv = new DataView(xb.buffer, xb.byteOffset, xb.length);
        const yv = new DataView(yb.buffer, yb.byteOffset, yb.length);
        const X = [];
        const Y = [];
        for (let i = 0; i < n; i++) {
          X.push(xv.getFloat64(8 * i, true));
          const y = yv.getFloat64(8 * i, true);
          Y.push(Number.isNaN(y) ? null : y);
        }
        keep = [X, Y];
      };
      const time = (f) => {
        for (let i = 0; i < 3; i++) f();
        const t0 = performance.now();
        for (let i = 0; i < 10; i++) f();
        return (performance.now() - t0) / 10;
      };
      const out = {
        json_points_ms: time(() => {
          const X = [];
          const Y = [];
          for (const p of JSON.parse(json)[0].data.points) { X.push(p[0]); Y.push(p[1]); }
          keep = [X, Y];
        }),
        cols_ms: time(() => { const c = JSON.parse(cols)[0].data.cols; fill(fromB64(c.x), fromB64(c.y)); }),
        binary_ms: time(() => fill(bin.subarray(0, 8 * n), bin.subarray(8 * n))),
        json_bytes: json.length, cols_bytes: cols.length, binary_bytes: bin.length, points: n,
        from_base64: typeof Uint8Array.fromBase64 === 'function',
      };
      globalThis.svKeep = keep; // what was decoded stays reachable, so none of it is optimized away
      return out;
    }));
  }
  const med = (k) => runs.map((r) => r[k]).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
  console.log(JSON.stringify({ workload: 'cols_decode', reps, points: runs[0].points, json_points_ms: med('json_points_ms'), cols_ms: med('cols_ms'),
    binary_ms: med('binary_ms'), json_bytes: runs[0].json_bytes, cols_bytes: runs[0].cols_bytes, binary_bytes: runs[0].binary_bytes,
    from_base64: runs[0].from_base64, runs }));
} finally {
  await close();
}
