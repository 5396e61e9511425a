// The shared protocol fixtures (testdata/protocol/*.json, docs/protocol.md §1.3, §2, §3): each
// step's events, as the server produced them (the Go tests check that), applied by the page's fold
// must leave every widget in the state the server holds. The Python tests run the same files.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { DashboardState } from '../state.js';
import { widgetJSON } from '../export.js';
import { decodeBinaryFrame } from '../frames.js';

const dir = new URL('../../testdata/protocol/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();

test('there are protocol fixtures to run', () => {
  assert.ok(files.length > 0, 'no fixtures in testdata/protocol');
});

for (const file of files) {
  const fx = JSON.parse(readFileSync(new URL(file, dir), 'utf8'));
  test(`fixture ${file}: the page's fold of the server's events ends in the server's state`, () => {
    const s = new DashboardState();
    s.apply([{ type: 'snapshot', epoch: 'fixture', seq: 0, reset: false, title: '', theme: null, widgets: [] }]);
    let seq = 0;
    for (const [i, step] of fx.steps.entries()) {
      const events = step.events.map((ev) => ({ ...ev, seq: seq + 1, prev: seq++ }));
      if (events.length === 0) continue;
      const res = s.apply(events);
      assert.equal(res.gap, false, `step ${i} (${step.publish}) made a gap`);
      assert.equal(res.applied, events.length, `step ${i} (${step.publish}): not every event applied`);
    }
    /** @type {Record<string, unknown>} */
    const got = {};
    for (const [id, w] of s.widgets) got[id] = widgetJSON(w);
    assert.deepStrictEqual(JSON.parse(JSON.stringify(got)), fx.state);
  });
}

// A socket opened with binary=1 gets some events in binary frames instead (§2.4: a columnar table
// update as the producer sent it, `tcols`); each step's `binary_frames` holds those frames. Folded
// in their place they must end in the same state.
for (const file of files) {
  const fx = JSON.parse(readFileSync(new URL(file, dir), 'utf8'));
  if (!fx.steps.some((/** @type {{binary_frames?: unknown[]}} */ st) => st.binary_frames)) continue;
  test(`fixture ${file}: the page's fold of a binary socket's frames ends in the server's state`, () => {
    const s = new DashboardState();
    s.apply([{ type: 'snapshot', epoch: 'fixture', seq: 0, reset: false, title: '', theme: null, widgets: [] }]);
    let seq = 0;
    let binary = 0;
    for (const [i, step] of fx.steps.entries()) {
      const events = step.events.map((/** @type {unknown} */ ev, /** @type {number} */ k) => {
        const frame = step.binary_frames?.[k];
        if (!frame) return ev;
        binary++;
        const bytes = Buffer.from(frame, 'base64');
        const evs = /** @type {Record<string, unknown>[]} */ (decodeBinaryFrame(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)));
        assert.equal(evs.length, 1);
        assert.ok(!('ops' in /** @type {any} */ (evs[0]).data), `step ${i}: a binary frame's table event carries columns, not ops`);
        return evs[0];
      }).map((/** @type {any} */ ev) => ({ ...ev, seq: seq + 1, prev: seq++ }));
      if (events.length === 0) continue;
      const res = s.apply(events);
      assert.equal(res.gap, false, `step ${i} (${step.publish}) made a gap`);
      assert.equal(res.applied, events.length, `step ${i} (${step.publish}): not every event applied`);
    }
    assert.ok(binary > 0);
    /** @type {Record<string, unknown>} */
    const got = {};
    for (const [id, w] of s.widgets) got[id] = widgetJSON(w);
    assert.deepStrictEqual(JSON.parse(JSON.stringify(got)), fx.state);
  });
}
