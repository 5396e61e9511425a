// @ts-check
// "Data as of": how current each widget is in its producer's terms (protocol.md §1.2 `stale_after`,
// §1.3 `as_of`). Pure: the page passes the clock in, so node --test pins every rule.

/**
 * Whether a time reads as milliseconds since the Unix epoch (2001 to 2286): a Pathway time from a
 * streaming run is one; a static run's logical times (0, 2, 4…) are not and are shown as numbers.
 * @param {number} t
 */
export function isWallClock(t) {
  return t >= 1e12 && t < 1e13;
}

/** @param {number} n */
const two = (n) => String(n).padStart(2, '0');

/**
 * A time as the card and header show it: the viewer's local clock time (with the date when it is
 * not today), or the logical time as a number.
 * @param {number} t
 * @param {number} now  Date.now()
 */
export function clockText(t, now) {
  if (!isWallClock(t)) return `time ${t}`;
  const d = new Date(t);
  const clock = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  return d.toDateString() === new Date(now).toDateString()
    ? clock
    : `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${clock}`;
}

/**
 * The UTC offset the viewer's clock had at d: "UTC-7", "UTC+5:30", "UTC" at 0. A full time names
 * it because, in the hour repeated when clocks go back, the clock alone reads the same for two
 * instants an hour apart.
 * @param {Date} d
 */
export function offsetText(d) {
  const off = -d.getTimezoneOffset();
  if (off === 0) return 'UTC';
  const abs = Math.abs(off);
  const minutes = abs % 60 ? `:${two(abs % 60)}` : '';
  return `UTC${off < 0 ? '-' : '+'}${Math.floor(abs / 60)}${minutes}`;
}

/**
 * An instant in full, one way everywhere the page names one (a chart's cursor reading and text
 * alternative, a stat's or gauge's hover): the viewer's local date and 24-hour clock, as the
 * as-of line writes them, with milliseconds when it has any and the UTC offset. Written by hand,
 * not by the browser's locale, so a chart's reading never says "10/3/2026, 9:00 PM" beside its
 * own axis's "21:00" or a card's "as of 2026-10-03 21:00:00".
 * @param {number} ms  Unix milliseconds
 */
export function instantText(ms) {
  const d = new Date(ms);
  // Whole milliseconds, cut as Date cuts them: a server-stamped ts has a fraction (…690.614), and
  // rounding 999.7 up would read ".1000" on the second before.
  const frac = Math.floor(((ms % 1000) + 1000) % 1000);
  const clock = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}${frac ? `.${String(frac).padStart(3, '0')}` : ''}`;
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${clock} ${offsetText(d)}`;
}

/**
 * The card's as-of line: "as of 10:42:07", and when stale how long nothing new has come.
 * @param {number} asOf
 * @param {number} now
 * @param {number | null} staleFor  ms without newer data when stale, else null
 */
export function asOfText(asOf, now, staleFor) {
  const base = `as of ${clockText(asOf, now)}`;
  return staleFor === null ? base : `stale: no new data for ${ageShort(staleFor)}, ${base}`;
}

/** @param {number} ms */
function ageShort(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/**
 * Follows when each widget's as-of last moved, on this page's clock, to tell which are stale.
 * A live event that moves it counts from its arrival; a snapshot (the page loading, or after a
 * reconnect) counts a wall-clock as-of from the as-of itself, so a pipeline that stalled before
 * the page opened shows stale at once (a viewer's clock ahead of the producer's shows it early).
 */
export class Freshness {
  constructor() {
    /** @type {Map<string, {asOf: number, since: number}>} */
    this.seen = new Map();
  }

  /**
   * Notes a widget's as-of after a message; returns whether it moved.
   * @param {string} id
   * @param {number | null} asOf
   * @param {number} now  Date.now()
   * @param {boolean} snapshot  the message was a snapshot
   */
  note(id, asOf, now, snapshot) {
    if (asOf === null) {
      this.seen.delete(id);
      return false;
    }
    const old = this.seen.get(id);
    if (old && old.asOf === asOf) return false;
    const since = snapshot && (!old || asOf > old.asOf) && isWallClock(asOf) ? Math.min(now, asOf) : now;
    this.seen.set(id, { asOf, since: old && asOf < old.asOf ? old.since : since });
    return true;
  }

  /**
   * How long a widget has had no newer data when that is over its stale_after, else null.
   * @param {string} id
   * @param {number | null} staleAfter  seconds; null: never stale
   * @param {number} now
   * @returns {number | null}
   */
  staleFor(id, staleAfter, now) {
    const s = this.seen.get(id);
    if (!s || staleAfter === null) return null;
    const age = now - s.since;
    return age > staleAfter * 1000 ? age : null;
  }

  /** @param {string} id */
  forget(id) {
    this.seen.delete(id);
  }
}

/**
 * The pipeline's latest time for the header: the greatest as-of of any widget, null when none has one.
 * @param {Iterable<{asOf: number | null}>} widgets
 */
export function latestAsOf(widgets) {
  /** @type {number | null} */
  let latest = null;
  for (const w of widgets) if (w.asOf !== null && (latest === null || w.asOf > latest)) latest = w.asOf;
  return latest;
}
