// @ts-check
// One chart series: parallel x/y arrays with a moving start index. A chart may receive 1,000
// points/s while keeping 10,000, so dropping the oldest point must not copy the array each time:
// trimming only advances `head`, and the dead prefix is cut off once it is as long as the live
// part, which keeps memory under twice the live size and the copying amortised O(1) per point.

/** Below this many dead slots compaction is not worth a copy. */
const MIN_COMPACT = 64;

export class Series {
  /** @param {string} name */
  constructor(name) {
    this.name = name;
    /** @type {number[]} */
    this.xs = [];
    /** @type {(number | null)[]} */
    this.ys = [];
    this.head = 0;
    // Appends arrive in arrival order, which is usually but not necessarily x order; while it
    // holds, upserts can binary-search and the chart can skip sorting.
    this.sorted = true;
  }

  get length() {
    return this.xs.length - this.head;
  }

  /** @returns {number | undefined} */
  lastX() {
    return this.length ? this.xs[this.xs.length - 1] : undefined;
  }

  /** @returns {number | null | undefined} */
  lastY() {
    return this.length ? this.ys[this.ys.length - 1] : undefined;
  }

  /**
   * @param {number} x
   * @param {number | null} y
   */
  append(x, y) {
    if (this.length && x < this.xs[this.xs.length - 1]) this.sorted = false;
    this.xs.push(x);
    this.ys.push(y);
  }

  /**
   * Replaces the point with this x, or inserts the point after the last one with a smaller x:
   * the server's rule (gateway upsertPoint): replace the newest point with the same x, else
   * insert after the last point whose x is not above it. The two copies must agree.
   * @param {number} x
   * @param {number | null} y
   */
  upsert(x, y) {
    if (!this.sorted) {
      // Out-of-order data: the newest point with this x, wherever it is.
      const at = this.xs.lastIndexOf(x);
      if (at >= this.head) {
        this.ys[at] = y;
        return;
      }
    }
    let i = this.xs.length;
    if (this.sorted && i - this.head > 32) {
      // Same answer as the backward scan when x is ordered, in O(log n).
      let lo = this.head;
      while (lo < i) {
        const mid = (lo + i) >>> 1;
        if (this.xs[mid] <= x) lo = mid + 1;
        else i = mid;
      }
    } else {
      while (i > this.head && this.xs[i - 1] > x) i--;
    }
    if (i > this.head && this.xs[i - 1] === x) {
      this.ys[i - 1] = y;
      return;
    }
    if (i === this.xs.length) {
      this.xs.push(x);
      this.ys.push(y);
    } else {
      this.xs.splice(i, 0, x);
      this.ys.splice(i, 0, y);
    }
  }

  /**
   * A category chart's upsert (the server's rule for x_type "category"): replaces the newest point
   * with this x, else adds the point after all others.
   * @param {number} x
   * @param {number | null} y
   */
  upsertLast(x, y) {
    const at = this.xs.lastIndexOf(x);
    if (at >= this.head) {
      this.ys[at] = y;
      return;
    }
    this.append(x, y);
  }

  /**
   * Removes every point whose x is in the set.
   * @param {Set<number>} xs
   */
  remove(xs) {
    if (xs.size === 0 || this.length === 0) return;
    let w = 0;
    const nx = [];
    const ny = [];
    for (let i = this.head; i < this.xs.length; i++) {
      if (xs.has(this.xs[i])) continue;
      nx[w] = this.xs[i];
      ny[w] = this.ys[i];
      w++;
    }
    this.xs = nx;
    this.ys = ny;
    this.head = 0;
    if (w === 0) this.sorted = true;
  }

  /**
   * Keeps the newest `max` points.
   * @param {number} max
   */
  trim(max) {
    const excess = this.length - max;
    if (excess > 0) this.head += excess;
    if (this.head >= MIN_COMPACT && this.head >= this.length) this.compact();
    if (this.length === 0) this.sorted = true;
  }

  compact() {
    if (this.head === 0) return;
    this.xs = this.xs.slice(this.head);
    this.ys = this.ys.slice(this.head);
    this.head = 0;
  }

  /**
   * The live points as [x, y] pairs, oldest first (the protocol's shape; used by tests and export).
   * @returns {[number, number | null][]}
   */
  points() {
    /** @type {[number, number | null][]} */
    const out = [];
    for (let i = this.head; i < this.xs.length; i++) out.push([this.xs[i], this.ys[i]]);
    return out;
  }
}
