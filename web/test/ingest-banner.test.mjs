// The dashboard's ingest banner (protocol.md §4): what it says for each /healthz body.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ingestBanner } from '../page.js';

test('a healthy ingest shows no banner', () => {
  assert.equal(ingestBanner({ status: 'ok', ingest: { queued: 0, stored: 10, dropped: 0 } }), null);
  assert.equal(ingestBanner({ status: 'ok' }), null);
  assert.equal(ingestBanner(null), null);
  assert.equal(ingestBanner('nope'), null);
});

test('dropped updates are counted in the banner', () => {
  assert.equal(ingestBanner({ ingest: { dropped: 1234567 } }),
    '1,234,567 updates from publishers were dropped: the bus was overloaded.');
  assert.equal(ingestBanner({ ingest: { dropped: 1 } }), '1 update from publishers was dropped: the bus was overloaded.');
});

test('a problem storing updates is named, with the drops after it', () => {
  assert.equal(ingestBanner({ ingest: { dropped: 2, problem: 'disk full: 3 MiB free in /data' } }),
    'Updates are not being stored: disk full: 3 MiB free in /data. 2 updates from publishers were dropped: the bus was overloaded.');
});

test('a connection the bus cut is named, since what it lost cannot be counted', () => {
  assert.equal(ingestBanner({ ingest: { dropped: 0, bus_disconnects: 1 } }),
    "The bus cut the dashboard's ingest connection once under load: updates published while it reconnected may be lost, uncounted.");
  assert.equal(ingestBanner({ ingest: { dropped: 5, bus_disconnects: 2 } }),
    "5 updates from publishers were dropped: the bus was overloaded. The bus cut the dashboard's ingest connection 2 times under load: updates published while it reconnected may be lost, uncounted.");
  assert.equal(ingestBanner({ ingest: { dropped: 0, bus_disconnects: 0 } }), null);
});

test('updates the widget limit refused are counted in the banner, naming the limit', () => {
  assert.equal(ingestBanner({ ingest: { dropped: 0 }, widget_limit: { max: 10000, refused: 25000 } }),
    '25,000 updates naming a new widget were refused: the dashboard holds as many widgets as its limit allows (10,000, --max-widgets).');
  assert.equal(ingestBanner({ widget_limit: { max: 2, refused: 1 } }),
    '1 update naming a new widget was refused: the dashboard holds as many widgets as its limit allows (2, --max-widgets).');
  assert.equal(ingestBanner({ ingest: { dropped: 3 }, widget_limit: { max: 2, refused: 1 } }),
    '3 updates from publishers were dropped: the bus was overloaded. 1 update naming a new widget was refused: the dashboard holds as many widgets as its limit allows (2, --max-widgets).');
  assert.equal(ingestBanner({ ingest: { dropped: 0 }, widget_limit: { max: 10000, refused: 0 } }), null);
});

test('once removals bring the dashboard under its widget limit, the banner says the refusals were when it was full', () => {
  assert.equal(ingestBanner({ widgets: 1, widget_limit: { max: 2, refused: 3 } }),
    '3 updates naming a new widget were refused when the dashboard held as many widgets as its limit allows (2, --max-widgets); it holds 1 now, so new widgets appear again.');
  assert.equal(ingestBanner({ widgets: 2, widget_limit: { max: 2, refused: 3 } }),
    '3 updates naming a new widget were refused: the dashboard holds as many widgets as its limit allows (2, --max-widgets).');
});
