// @ts-check
// The WebSocket to `/ws` (protocol.md §2): resumes from the page's position, reconnects by itself,
// and starts over from a snapshot when the state reports a gap. It never touches the DOM and gets
// its WebSocket, location, timers and randomness injected, so its behaviour is tested under node.

/** @typedef {'connecting' | 'live' | 'reconnecting'} ConnState */
/** @typedef {{epoch: string, seq: number}} Position */

/**
 * @typedef {object} SocketLike
 * @property {((ev: unknown) => void) | null} onopen
 * @property {((ev: {data: unknown}) => void) | null} onmessage
 * @property {((ev: {code: number, reason?: string}) => void) | null} onclose
 * @property {((ev: unknown) => void) | null} onerror
 * @property {(code?: number, reason?: string) => void} close
 * @property {string} [binaryType]
 */
/** @typedef {new (url: string) => SocketLike} SocketCtor */

/**
 * @typedef {object} Timers
 * @property {(fn: () => void, ms: number) => unknown} setTimeout
 * @property {(id: unknown) => void} clearTimeout
 * @property {() => number} now
 */

import { decodeBinaryFrame } from './frames.js';

export const BACKOFF_MIN_MS = 500;
/** A restarted server must find its open pages back within 2 s (docs/reliability.md), so retries
 * never wait longer than that; a failed handshake to a server that is down costs it nothing. */
export const BACKOFF_MAX_MS = 2000;
/** The server closes a socket that fell behind with 4000: it should resume at once. */
export const CLOSE_SLOW = 4000;
const CLOSE_POLICY = 1008;
/** The signed embed link that opened the socket expired (protocol.md §2.3): retrying cannot help. */
export const CLOSE_EXPIRED = 4001;
/** A handshake that hangs this long (a stuck proxy) is given up and retried. */
export const CONNECT_TIMEOUT_MS = 15000;
/** Gaps closer together than this reconnect with backoff, so a misbehaving log cannot make the
 * page fetch snapshots in a tight loop. */
export const RESYNC_QUIET_MS = 5000;

/**
 * Exponential backoff, 0.5 s doubling to 2 s, with ±25 % jitter (capped) so that dashboards
 * dropped together by a server restart do not come back in lockstep.
 * @param {number} attempt  0 for the first retry
 * @param {() => number} [random]
 */
export function backoffDelay(attempt, random = Math.random) {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(attempt, 20));
  return Math.round(Math.min(BACKOFF_MAX_MS, base * (0.75 + 0.5 * random())));
}

/**
 * The socket URL: `ws` beside the dashboard's root (the directory its scripts are served from),
 * ws: or wss: as the page, resume position, embed filter, and the signed link's `exp` and `sig`
 * when the page was opened with one (protocol.md §6.2). Relative to the root, never to the host,
 * so a dashboard mounted under a path (http.StripPrefix, a proxy, `serve --base-path`) reaches its
 * own socket.
 * @param {string | URL} base  the dashboard's root URL, ending in `/`
 * @param {Position | null} position
 * @param {string | null} widget
 * @param {Record<string, string> | null} [grant]
 */
export function socketUrl(base, position, widget, grant = null) {
  // Columnar chart updates come as binary frames (protocol.md §2.4), read in place.
  const params = new URLSearchParams({ binary: '1' });
  if (position) {
    params.set('epoch', position.epoch);
    params.set('seq', String(position.seq));
  }
  if (widget !== null) params.set('widget', widget);
  for (const [k, v] of Object.entries(grant ?? {})) params.set(k, v);
  const u = new URL('ws', base);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.search = params.toString();
  u.hash = '';
  return u.href;
}

export class Connection {
  /**
   * @param {object} opts
   * @param {() => Position | null} opts.position  where to resume from
   * @param {(events: unknown) => {gap: boolean}} opts.onEvents  applies a parsed server message
   * @param {(state: ConnState, retryInMs: number | null) => void} [opts.onState]
   * @param {string | null} [opts.widget]  embed mode: only this widget's events
   * @param {Record<string, string> | null} [opts.grant]  a signed embed link's exp and sig
   * @param {() => void} [opts.onExpired]  the signed link expired: the connection has stopped
   * @param {string | URL} [opts.base]  the dashboard's root URL (default: the page's directory)
   * @param {SocketCtor} [opts.WebSocket]
   * @param {Timers} [opts.timers]
   * @param {() => number} [opts.random]
   */
  constructor(opts) {
    this.opts = opts;
    this.widget = opts.widget ?? null;
    this.base = opts.base ?? new URL('./', globalThis.location.href);
    /** @type {SocketCtor} */
    this.Socket = opts.WebSocket ?? /** @type {SocketCtor} */ (/** @type {unknown} */ (globalThis.WebSocket));
    this.timers = opts.timers ?? {
      setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
      clearTimeout: (id) => globalThis.clearTimeout(/** @type {number} */ (id)),
      now: () => Date.now(),
    };
    this.random = opts.random ?? Math.random;
    /** @type {ConnState} */
    this.state = 'connecting';
    /** @type {SocketLike | null} */
    this.ws = null;
    /** @type {unknown} */
    this.retryTimer = null;
    /** @type {unknown} */
    this.openTimer = null;
    this.attempt = 0;
    this.everLive = false;
    /** The socket has delivered a message (it was accepted, not just opened). */
    this.socketLive = false;
    /** The next socket asks for a snapshot, not a resume. */
    this.fresh = false;
    this.lastResync = -Infinity;
    this.resyncAttempt = 0;
    this.stopped = true;
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    this.clearTimers();
    this.drop();
  }

  /** Reconnects without a position, to get a snapshot: the page's state has a gap. */
  resync() {
    if (this.stopped) return;
    this.fresh = true;
    this.drop();
    const now = this.timers.now();
    if (now - this.lastResync >= RESYNC_QUIET_MS) this.resyncAttempt = 0;
    this.lastResync = now;
    // Its own counter: each resync's snapshot succeeds and resets `attempt`, which would let
    // recurring gaps reconnect twice a second forever.
    this.schedule(this.resyncAttempt === 0 ? 0 : backoffDelay(this.resyncAttempt - 1, this.random));
    this.resyncAttempt++;
  }

  /** Skips a pending wait, e.g. when the browser comes back online or the tab becomes visible. */
  nudge() {
    if (this.stopped || this.ws || this.retryTimer === null) return;
    this.clearTimers();
    this.connect();
  }

  /** @param {ConnState} state @param {number | null} retryIn */
  setState(state, retryIn) {
    this.state = state;
    this.opts.onState?.(state, retryIn);
  }

  clearTimers() {
    if (this.retryTimer !== null) this.timers.clearTimeout(this.retryTimer);
    if (this.openTimer !== null) this.timers.clearTimeout(this.openTimer);
    this.retryTimer = null;
    this.openTimer = null;
  }

  /** Forgets the current socket so that nothing it still delivers is applied, and closes it. */
  drop() {
    const ws = this.ws;
    this.ws = null;
    if (!ws) return;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    try {
      ws.close(1000);
    } catch {
      // Closing a socket that never opened may throw in some browsers; it is gone either way.
    }
  }

  /** @param {number} delay */
  schedule(delay) {
    if (this.stopped) return;
    this.clearTimers();
    this.setState(this.everLive ? 'reconnecting' : 'connecting', delay);
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  connect() {
    if (this.stopped) return;
    const position = this.fresh ? null : this.opts.position();
    const url = socketUrl(this.base, position, this.widget, this.opts.grant ?? null);
    this.socketLive = false;
    this.setState(this.everLive ? 'reconnecting' : 'connecting', null);
    /** @type {SocketLike} */
    let ws;
    try {
      ws = new this.Socket(url);
    } catch (err) {
      console.warn('streamviz: cannot open the socket', err);
      this.schedule(backoffDelay(this.attempt++, this.random));
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.openTimer = this.timers.setTimeout(() => {
      this.openTimer = null;
      if (this.ws === ws && !this.socketLive) this.failed(ws, 1006);
    }, CONNECT_TIMEOUT_MS);
    ws.onmessage = (ev) => this.message(ws, ev.data);
    ws.onclose = (ev) => this.failed(ws, ev.code);
  }

  /**
   * @param {SocketLike} ws
   * @param {number} code
   */
  failed(ws, code) {
    if (this.ws !== ws) return;
    const wasLive = this.socketLive;
    this.drop();
    if (code === CLOSE_EXPIRED) {
      this.stop();
      this.opts.onExpired?.();
      return;
    }
    if (code === CLOSE_POLICY) this.fresh = true; // the query was refused: a position is suspect
    if (code === CLOSE_SLOW && wasLive) {
      // The page fell behind; its position is still good, so resume promptly. The jitter only
      // keeps many tabs kicked together from reconnecting in the same millisecond.
      this.schedule(Math.round(250 * this.random()));
    } else {
      this.schedule(backoffDelay(this.attempt++, this.random));
    }
  }

  /**
   * @param {SocketLike} ws
   * @param {unknown} raw
   */
  message(ws, raw) {
    if (this.ws !== ws) return;
    let events;
    try {
      events = raw instanceof ArrayBuffer ? decodeBinaryFrame(raw) : JSON.parse(String(raw));
    } catch {
      // A message we cannot read may have carried events: only a snapshot makes us whole again.
      console.warn('streamviz: unreadable server message; resynchronising');
      this.resync();
      return;
    }
    let gap;
    try {
      ({ gap } = this.opts.onEvents(events));
    } catch (err) {
      // The state may be half-updated: start over from a snapshot rather than drift.
      console.error('streamviz: applying a server message failed; resynchronising', err);
      gap = true;
    }
    if (gap) {
      this.resync();
      return;
    }
    if (!this.socketLive) {
      this.socketLive = true;
      this.everLive = true;
      this.fresh = false;
      this.attempt = 0;
      if (this.openTimer !== null) this.timers.clearTimeout(this.openTimer);
      this.openTimer = null;
      this.setState('live', null);
    }
  }
}
