// Shared pieces of the browser tests: a real streamviz process, a NATS
// publisher using the documented subjects, and Debian's Chromium.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect, JSONCodec } from 'nats';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

export const BIN = process.env.STREAMVIZ_BIN || new URL('../../bin/streamviz', import.meta.url).pathname;
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** A fresh JetStream directory, removed when the test ends. */
export function tempDir(t) {
  const dir = mkdtempSync(join(tmpdir(), 'streamviz-browser-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Starts `streamviz serve` and resolves with its ready line once /healthz is 200.
 * @returns {Promise<{http: string, nats: string, stop: () => Promise<number|null>}>}
 */
export async function startServer({ addr = '127.0.0.1:0', dataDir, extraArgs = [] }) {
  const args = ['serve', '--addr', addr, '--nats-addr', '127.0.0.1:0', ...extraArgs];
  if (dataDir) args.push('--data-dir', dataDir);
  const proc = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
  const lines = createInterface({ input: proc.stdout });
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line in 60s; stderr:\n${stderr}`)), 60000);
    lines.once('line', (line) => { clearTimeout(timer); resolve(JSON.parse(line)); });
    exited.then((code) => reject(new Error(`streamviz exited ${code} before ready; stderr:\n${stderr}`)));
  });
  await waitFor(async () => (await fetch(`http://${ready.http}/healthz`)).ok, 15000, 'healthz');
  return {
    http: ready.http,
    nats: ready.nats,
    stop: async () => {
      proc.kill('SIGTERM');
      // A server that does not end on SIGTERM must not hang the suite (or keep a test's mount busy).
      const kill = setTimeout(() => proc.kill('SIGKILL'), 30000);
      try {
        return await exited;
      } finally {
        clearTimeout(kill);
      }
    },
  };
}

/**
 * A wait's shortest bound: only a failing test reaches it, and a loaded 2-core CI machine running
 * Chromium, the server and the test can take many seconds for what takes one when quiet.
 */
const MIN_WAIT_MS = 60000;

/** Polls cond until it is truthy or the time is up (at least MIN_WAIT_MS); no fixed sleeps. */
export async function waitFor(cond, ms, what) {
  ms = Math.max(ms, MIN_WAIT_MS);
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      if (await cond()) return;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last}` : ''}`);
}

/** Publishes {subject: object} (or raw bytes: a columnar update) with JetStream acknowledgements. */
export async function publish(natsURL, messages) {
  const nc = await connect({ servers: natsURL.replace('nats://', '') });
  const js = nc.jetstream({ timeout: 60000 }); // an acknowledgement's bound (5 s by default) on a loaded machine
  const jc = JSONCodec();
  try {
    for (const [subject, body] of messages) await js.publish(subject, body instanceof Uint8Array ? body : jc.encode(body));
  } finally {
    await nc.close();
  }
}

/** Launches Debian's Chromium (never a downloaded browser). */
export async function launchBrowser(t) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  t.after(() => browser.close());
  return browser;
}

/** A page whose uncaught script errors land in errors (socket errors during a restart are expected, so console errors are not). */
export async function newPage(browser, errors) {
  const page = await browser.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  return page;
}

/**
 * The usual start of a browser test: a server holding `widgets`, Chromium, and a page at `path`
 * (on `viewport` when given) whose script errors collect in `errors`. All are closed after t.
 */
export async function openPage(t, widgets, { path = '/', viewport, server: serverOpts = {} } = {}) {
  const server = await startServer(serverOpts);
  t.after(() => server.stop());
  if (widgets.length) await publish(server.nats, widgets);
  const browser = await launchBrowser(t);
  const errors = [];
  const page = await newPage(browser, errors);
  if (viewport) await page.setViewportSize(viewport);
  await page.goto(`http://${server.http}${path}`);
  return { server, browser, page, errors };
}

/** Width and height from a PNG's IHDR, after checking its signature. */
export function pngSize(b) {
  assert.deepEqual([...b.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'a PNG signature');
  assert.equal(b.subarray(12, 16).toString('latin1'), 'IHDR');
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}
