// @ts-check
// Page helpers that need no DOM, kept apart from app.js so they are tested under node.

import { compareWidgets } from './config.js';

/**
 * The widget id of an embed page, `/embed/{widget}`: the last path segment, percent-decoded.
 * @param {string} pathname
 * @returns {string | null} null when there is no segment or it is not valid percent-encoding
 */
export function embedWidgetId(pathname) {
  const segs = pathname.split('/').filter((s) => s !== '');
  if (segs.length === 0) return null;
  try {
    const id = decodeURIComponent(segs[segs.length - 1]);
    return id === '' ? null : id;
  } catch {
    return null;
  }
}

/**
 * The `exp` and `sig` of a signed embed link (protocol.md §6.2), which the page's socket must
 * carry too; null when the page was not opened with one.
 * @param {string} search  location.search
 * @returns {Record<string, string> | null}
 */
export function embedGrant(search) {
  const q = new URLSearchParams(search);
  const exp = q.get('exp');
  const sig = q.get('sig');
  return exp !== null && sig !== null ? { exp, sig } : null;
}

/**
 * Widget ids are letters, digits, `-` and `_`, 1 to 64 characters (protocol.md §1); the server
 * refuses a socket filtered by anything else, so the page says so instead of retrying forever.
 * @param {string} id
 */
export function isWidgetId(id) {
  return /^[A-Za-z0-9_-]{1,64}$/.test(id);
}

/**
 * "updated 3s ago" for the header; coarser units as the age grows, so the text stays short.
 * @param {number | null} ms  time since the last update, null before any
 */
export function ageText(ms) {
  if (ms === null) return 'no updates yet';
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 1) return 'updated just now';
  if (s < 60) return `updated ${s}s ago`;
  if (s < 3600) return `updated ${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `updated ${Math.floor(s / 3600)}h ago`;
  return `updated ${Math.floor(s / 86400)}d ago`;
}

/**
 * Widgets in display order: by config.order, then id.
 * @template {{id: string, config: {order: number}}} W
 * @param {Iterable<W>} widgets
 * @returns {W[]}
 */
export function displayOrder(widgets) {
  return [...widgets].sort(compareWidgets);
}

/**
 * The connection indicator's text. A retry countdown would go stale between redraws, so the
 * next attempt's time goes in the indicator's tooltip instead.
 * @param {'connecting' | 'live' | 'reconnecting'} state
 */
export function connectionLabel(state) {
  return state === 'live' ? 'live' : state === 'connecting' ? 'connecting…' : 'reconnecting…';
}

/**
 * What the dashboard's ingest banner says, from a `/healthz` body (protocol.md §4): the ingest
 * problem (disk full, ingest stalled…), how many updates publishers sent that were dropped, and
 * how many the widget limit refused; null when there is nothing to say.
 * @param {unknown} health
 * @returns {string | null}
 */
export function ingestBanner(health) {
  if (typeof health !== 'object' || health === null) return null;
  const h = /** @type {{widgets?: unknown, ingest?: {dropped?: unknown, problem?: unknown, bus_disconnects?: unknown}, widget_limit?: {max?: unknown, refused?: unknown}}} */ (health);
  const parts = [];
  const ingest = h.ingest;
  if (typeof ingest === 'object' && ingest !== null) {
    if (typeof ingest.problem === 'string' && ingest.problem !== '') parts.push(`Updates are not being stored: ${ingest.problem}.`);
    const dropped = ingest.dropped;
    if (typeof dropped === 'number' && dropped > 0) {
      parts.push(`${dropped.toLocaleString('en-US')} ${dropped === 1 ? 'update' : 'updates'} from publishers ${dropped === 1 ? 'was' : 'were'} dropped: the bus was overloaded.`);
    }
    // A close by the bus loses what publishers send until the gateway is back, and nobody can
    // count that: say it happened rather than show a count that looks exact.
    const cuts = ingest.bus_disconnects;
    if (typeof cuts === 'number' && cuts > 0) {
      parts.push(`The bus cut the dashboard's ingest connection ${cuts === 1 ? 'once' : `${cuts.toLocaleString('en-US')} times`} under load: updates published while it reconnected may be lost, uncounted.`);
    }
  }
  // At the widget limit the page shows every widget it has and looks whole, while widgets a
  // publisher adds never appear: say so, with the flag that moves the limit.
  const limit = h.widget_limit;
  if (typeof limit === 'object' && limit !== null && typeof limit.refused === 'number' && limit.refused > 0) {
    const n = limit.refused;
    const max = typeof limit.max === 'number' ? ` (${limit.max.toLocaleString('en-US')}, --max-widgets)` : ' (--max-widgets)';
    const what = `${n.toLocaleString('en-US')} ${n === 1 ? 'update' : 'updates'} naming a new widget ${n === 1 ? 'was' : 'were'} refused`;
    // The count is this run's, but removals (protocol.md §1.2) free places: once the dashboard is
    // under its limit again, saying it is full would send a reader after a problem that is over.
    const held = h.widgets;
    if (typeof held === 'number' && typeof limit.max === 'number' && held < limit.max) {
      parts.push(`${what} when the dashboard held as many widgets as its limit allows${max}; it holds ${held.toLocaleString('en-US')} now, so new widgets appear again.`);
    } else {
      parts.push(`${what}: the dashboard holds as many widgets as its limit allows${max}.`);
    }
  }
  return parts.length > 0 ? parts.join(' ') : null;
}
