// The socket client: resume parameters, backoff, prompt resume after 4000, resync on gaps.
// A fake WebSocket and fake timers stand in for the browser's.
import test from 'node:test';
import assert from 'node:assert/strict';
import { BACKOFF_MAX_MS, CONNECT_TIMEOUT_MS, Connection, backoffDelay, socketUrl } from '../connection.js';
import { DashboardState } from '../state.js';

class FakeSocket {
  static all = [];
  constructor(url) {
    this.url = url;
    this.closed = false;
    this.onopen = this.onmessage = this.onclose = this.onerror = null;
    FakeSocket.all.push(this);
  }
  close() { this.closed = true; }
  send(events) { this.onmessage?.({ data: typeof events === 'string' ? events : JSON.stringify(events) }); }
  serverClose(code) { this.onclose?.({ code }); }
}

function fakeTimers() {
  let now = 0;
  let id = 0;
  const queue = new Map();
  return {
    setTimeout: (fn, ms) => { queue.set(++id, { fn, at: now + ms }); return id; },
    clearTimeout: (t) => { queue.delete(t); },
    now: () => now,
    /** Runs every timer due within ms, in time order. */
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const due = [...queue.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        queue.delete(due[0]);
        now = due[1].at;
        due[1].fn();
      }
      now = end;
    },
    pending: () => [...queue.values()].map((t) => t.at - now),
  };
}

const snapshot = (seq, epoch = 'E1') => [{ type: 'snapshot', epoch, seq, reset: false, title: 't', widgets: [] }];

function setup({ widget = null, random = () => 0.5, protocol = 'http:', grant = null, onExpired } = {}) {
  FakeSocket.all = [];
  const timers = fakeTimers();
  const state = new DashboardState({ filtered: widget !== null });
  const states = [];
  const conn = new Connection({
    position: () => state.position(),
    onEvents: (ev) => state.apply(ev),
    onState: (s) => states.push(s),
    widget,
    grant,
    onExpired,
    base: `${protocol}//dash.example:8080/`,
    WebSocket: FakeSocket,
    timers,
    random,
  });
  const last = () => FakeSocket.all[FakeSocket.all.length - 1];
  return { conn, state, timers, states, last };
}

const warnings = () => {
  const warn = console.warn;
  console.warn = () => {};
  return () => { console.warn = warn; };
};

test('the socket URL uses the page host, wss on https, and carries position and widget', () => {
  assert.equal(socketUrl('http://h:1/', null, null), 'ws://h:1/ws?binary=1');
  assert.equal(socketUrl('https://h/', { epoch: 'e f', seq: 12 }, 'a&b'),
    'wss://h/ws?binary=1&epoch=e+f&seq=12&widget=a%26b');
});

test('the socket URL sits beside the dashboard root, so a dashboard mounted under a path finds its socket', () => {
  assert.equal(socketUrl('http://h:1/dash/', null, null), 'ws://h:1/dash/ws?binary=1');
  assert.equal(socketUrl(new URL('https://intranet.example/team/streamviz/'), null, 'w', { exp: '9', sig: 'ab' }),
    'wss://intranet.example/team/streamviz/ws?binary=1&widget=w&exp=9&sig=ab');
});

test('backoff starts at half a second, doubles, caps at two (a restarted server gets its pages back within 2 s), and jitters', () => {
  const mid = () => 0.5;
  assert.deepEqual([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, mid)), [500, 1000, 2000, 2000, 2000, 2000]);
  assert.equal(backoffDelay(30, () => 1), 2000);
  assert.equal(backoffDelay(0, () => 0), 375);
  assert.equal(backoffDelay(0, () => 1), 625);
  assert.ok(backoffDelay(50, () => 1) <= BACKOFF_MAX_MS);
});

test('the first connection has no position; the state goes live on the first message', () => {
  const { conn, states, last } = setup();
  conn.start();
  assert.equal(last().url, 'ws://dash.example:8080/ws?binary=1');
  assert.equal(conn.state, 'connecting');
  last().send(snapshot(10));
  assert.equal(conn.state, 'live');
  assert.deepEqual(states, ['connecting', 'live']);
});

test('after a drop it reconnects with backoff and resumes from its position', () => {
  const { conn, timers, last } = setup();
  conn.start();
  last().send(snapshot(10));
  last().send([{ type: 'title', seq: 11, prev: 10, title: 'x' }]);
  last().serverClose(1001);
  assert.equal(conn.state, 'reconnecting');
  assert.deepEqual(timers.pending(), [500]);
  timers.advance(499);
  assert.equal(FakeSocket.all.length, 1);
  timers.advance(1);
  assert.equal(last().url, 'ws://dash.example:8080/ws?binary=1&epoch=E1&seq=11');
});

test('repeated failures back off exponentially until a socket delivers a message', () => {
  const { conn, timers, last } = setup();
  conn.start();
  const delays = [];
  for (let i = 0; i < 6; i++) {
    last().serverClose(1006);
    delays.push(timers.pending()[0]);
    timers.advance(delays[i]);
  }
  assert.deepEqual(delays, [500, 1000, 2000, 2000, 2000, 2000]);
  last().send(snapshot(1));
  last().serverClose(1006);
  assert.deepEqual(timers.pending(), [500], 'a socket that worked resets the backoff');
});

test('a socket closed with 4000 (too slow) resumes promptly from its position', () => {
  const { timers, last, conn } = setup({ random: () => 1 });
  conn.start();
  last().send(snapshot(10));
  last().serverClose(4000);
  assert.ok(timers.pending()[0] <= 250, `waits ${timers.pending()[0]} ms`);
  timers.advance(250);
  assert.equal(last().url, 'ws://dash.example:8080/ws?binary=1&epoch=E1&seq=10');
});

test('a gap closes the socket and reconnects at once without a position', () => {
  const restore = warnings();
  try {
    const { conn, timers, last, state } = setup();
    conn.start();
    last().send(snapshot(10));
    const old = last();
    old.send([{ type: 'title', seq: 15, prev: 14, title: 'x' }]);
    assert.equal(old.closed, true);
    assert.equal(conn.state, 'reconnecting');
    old.send([{ type: 'title', seq: 11, prev: 10, title: 'late' }]);
    assert.notEqual(state.title, 'late', 'the abandoned socket is ignored');
    timers.advance(0);
    assert.equal(last().url, 'ws://dash.example:8080/ws?binary=1', 'no position: a snapshot is needed');
    last().send(snapshot(20));
    last().serverClose(1006);
    timers.advance(500);
    assert.equal(last().url, 'ws://dash.example:8080/ws?binary=1&epoch=E1&seq=20', 'after the snapshot it resumes again');
  } finally {
    restore();
  }
});

test('gaps in quick succession back off instead of fetching snapshots in a loop', () => {
  const restore = warnings();
  try {
    const { conn, timers, last } = setup();
    conn.start();
    const gap = [{ type: 'title', seq: 99, prev: 98, title: 'x' }];
    last().send(snapshot(10));
    last().send(gap);
    assert.deepEqual(timers.pending(), [0]);
    timers.advance(0);
    last().send(snapshot(10));
    last().send(gap);
    assert.deepEqual(timers.pending(), [500]);
    timers.advance(500);
    last().send(snapshot(10));
    last().send(gap);
    assert.deepEqual(timers.pending(), [1000]);
  } finally {
    restore();
  }
});

test('an unreadable message is handled like a gap', () => {
  const restore = warnings();
  try {
    const { conn, timers, last } = setup();
    conn.start();
    last().send(snapshot(10));
    last().send('{not json');
    timers.advance(0);
    assert.equal(last().url, 'ws://dash.example:8080/ws?binary=1');
    assert.equal(FakeSocket.all.length, 2);
  } finally {
    restore();
  }
});

test('embed mode asks for its widget on every connection', () => {
  const { conn, timers, last } = setup({ widget: 'rev' });
  conn.start();
  assert.equal(last().url, 'ws://dash.example:8080/ws?binary=1&widget=rev');
  last().send(snapshot(10));
  last().serverClose(1001);
  timers.advance(500);
  assert.equal(last().url, 'ws://dash.example:8080/ws?binary=1&epoch=E1&seq=10&widget=rev');
});

test('a signed embed link carries its exp and sig on every connection', () => {
  const { conn, timers, last } = setup({ widget: 'rev', grant: { exp: '1800000000', sig: 'ab12' } });
  conn.start();
  assert.equal(last().url, 'ws://dash.example:8080/ws?binary=1&widget=rev&exp=1800000000&sig=ab12');
  last().send(snapshot(10));
  last().serverClose(1001);
  timers.advance(500);
  assert.equal(last().url, 'ws://dash.example:8080/ws?binary=1&epoch=E1&seq=10&widget=rev&exp=1800000000&sig=ab12');
});

test('a 4001 close (the signed link expired) stops for good and reports it', () => {
  let expired = 0;
  const { conn, timers, last } = setup({ widget: 'rev', grant: { exp: '1', sig: 'x' }, onExpired: () => expired++ });
  conn.start();
  last().send(snapshot(10));
  last().serverClose(4001);
  assert.equal(expired, 1);
  assert.deepEqual(timers.pending(), [], 'no retry is scheduled');
  timers.advance(60000);
  assert.equal(FakeSocket.all.length, 1, 'no new socket');
});

test('a handshake that hangs is abandoned and retried', () => {
  const { conn, timers, last } = setup();
  conn.start();
  const first = last();
  timers.advance(CONNECT_TIMEOUT_MS);
  assert.equal(first.closed, true);
  timers.advance(500);
  assert.equal(FakeSocket.all.length, 2);
});

test('a 1008 policy close drops the position for the next attempt', () => {
  const { conn, timers, last } = setup();
  conn.start();
  last().send(snapshot(10));
  last().serverClose(1008);
  timers.advance(500);
  assert.equal(last().url, 'ws://dash.example:8080/ws?binary=1');
});

test('nudge skips the wait; stop closes the socket and cancels retries', () => {
  const { conn, timers, last } = setup();
  conn.start();
  last().send(snapshot(10));
  last().serverClose(1006);
  last().serverClose(1006); // ignored: that socket is already gone
  conn.nudge();
  assert.equal(FakeSocket.all.length, 2);
  conn.stop();
  assert.equal(last().closed, true);
  timers.advance(60000);
  assert.equal(FakeSocket.all.length, 2);
});

test('the socket asks for binary frames and applies them; a malformed one resynchronises from a snapshot', () => {
  const { conn, state, timers, last } = setup();
  conn.start();
  assert.equal(last().binaryType, 'arraybuffer');
  last().send(snapshot(10));
  const js = new TextEncoder().encode(JSON.stringify([{ type: 'title', seq: 11, prev: 10, title: 'binary' }]));
  const frame = new Uint8Array(Math.ceil((8 + js.length) / 8) * 8);
  frame.set(new TextEncoder().encode('SVB1'));
  new DataView(frame.buffer).setUint32(4, js.length, true);
  frame.set(js, 8);
  last().onmessage?.({ data: frame.buffer });
  assert.equal(state.title, 'binary');
  assert.deepEqual(state.position(), { epoch: 'E1', seq: 11 });
  const restore = warnings();
  const bad = last();
  bad.onmessage?.({ data: new Uint8Array([1, 2, 3]).buffer });
  restore();
  assert.equal(bad.closed, true, 'an unreadable binary frame drops the socket');
  timers.advance(0);
  assert.equal(last().url, 'ws://dash.example:8080/ws?binary=1', 'and starts over from a snapshot');
});
