// @ts-check
// <sv-chart>: live time series drawn by uPlot (canvas, so tens of thousands of points stay
// cheap). The plot is rebuilt only when its shape changes (series set, chart type, axis kind,
// colours); otherwise a redraw hands uPlot fresh columns, min/max-decimated to the plot's pixel
// width when the points far outnumber the pixels (decimate.js).

import uPlot from '../vendor/uplot/uPlot.esm.js';
import { buildCategoryData, buildChartData, buildPlotData, buildStackedData, isStacked, isTimeAxis } from '../chart-data.js';
import { SUBSECOND_SPAN, WIDEST_SUBSECOND_TICK, WIDEST_TIME_TICK, chartSummary, nearestIndex, seriesNames, timeTick, xRangeOf, xText } from '../chart-text.js';
import { Decimals } from '../decimals.js';
import { formatDefault } from '../format.js';
import { SvWidget, el, setText } from './base.js';

/** @typedef {import('../state.js').ChartWidget} ChartWidget */
/** @typedef {import('../series.js').Series} Series */
/** @typedef {{item: HTMLElement, value: HTMLElement}} LegendView */
/** @typedef {import('../chart-data.js').ChartData} ChartData */
/** @typedef {import('../chart-data.js').YColumn} YColumn */
/**
 * What a held chart keeps showing: its columns as they were when the hold began, every point
 * (undecimated, so zooming in finds them all), with the category names and latest values of then.
 * @typedef {{base: ChartData, labels: string[] | null, last: (number | null | undefined)[]}} Held
 */

/** How much one wheel notch (100 px of deltaY) zooms: the range shrinks or grows by this factor. */
const WHEEL_ZOOM = 1.25;

/** Forced colours (Windows high contrast): series told apart by dashes, since all are CanvasText. */
const FORCED_DASHES = [[], [6, 3], [2, 3], [8, 3, 2, 3]];
const forcedColors = () => globalThis.matchMedia?.('(forced-colors: active)').matches ?? false;

/** @type {CanvasRenderingContext2D | null} */
let measureCtx = null;

/**
 * The rendered width of text in a canvas font, for sizing axes to their labels.
 * @param {string} text
 * @param {string} font
 */
function textWidth(text, font) {
  measureCtx ??= document.createElement('canvas').getContext('2d');
  if (!measureCtx) return text.length * 7;
  measureCtx.font = font;
  return measureCtx.measureText(text).width;
}

const FALLBACK = { width: 300, height: 150 };

/**
 * Longest a decimated chart holds back new data whose only effect is inside its newest pixel
 * column: such a chart (10,000 points on 600 pixels, say) moves by a pixel only every dozen or so
 * points, and redrawing it for each would repaint the same picture many times a second.
 */
const SUBPIXEL_MAX_WAIT_MS = 250;

/** How often a live chart's text alternative is rewritten at most. */
const SUMMARY_EVERY_MS = 1000;

/** @returns {number} */
const dpr = () => globalThis.devicePixelRatio || 1;

/** @type {CanvasRenderingContext2D | null} */
let colorCtx = null;

/**
 * Any CSS colour with a new alpha: uPlot's fills take one canvas colour, and configs may say
 * "tomato" or "#f008" as well as rgb(), so the canvas itself normalises it first.
 * @param {string} color
 * @param {number} alpha
 */
export function withAlpha(color, alpha) {
  colorCtx ??= document.createElement('canvas').getContext('2d');
  if (!colorCtx) return color;
  colorCtx.fillStyle = '#000';
  colorCtx.fillStyle = color;
  const norm = String(colorCtx.fillStyle);
  let m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(norm);
  if (m) return `rgba(${parseInt(m[1], 16)}, ${parseInt(m[2], 16)}, ${parseInt(m[3], 16)}, ${alpha})`;
  m = /^rgba?\(([^,]+),([^,]+),([^,]+)(?:,([^)]+))?\)$/.exec(norm);
  if (m) return `rgba(${m[1].trim()}, ${m[2].trim()}, ${m[3].trim()}, ${alpha * (m[4] ? Number(m[4]) : 1)})`;
  return norm;
}

/**
 * uPlot's line path builder, wrapped: a series with at least one point per device pixel of plot
 * width is stroked as hairlines. Profiling showed why: the path uPlot builds for such a series is
 * a zigzag through every pixel column's extremes, and the software rasterizer turns a 1.5 px wide
 * stroke of it into an outline with thousands of overlapping edges per scanline: 15-30 ms per
 * chart per frame. Skia draws a one-device-pixel stroke as hairlines instead, in about 1 ms. To
 * keep the line's weight, the path is stroked as copies half a device pixel apart vertically, as
 * many as make up the series' width (two for 1.5 px at 1x), which lights the same columns with
 * the same thickness as the wide stroke. A dense stack of bars, drawn as steps (denseBars), is
 * stroked the same way.
 * @param {uPlot.Series.PathBuilder} [inner]  the builder whose paths are stroked so; linear by default
 * @returns {uPlot.Series.PathBuilder}
 */
function densePaths(inner) {
  const linear = inner ?? /** @type {uPlot.Series.PathBuilder} */ (uPlot.paths.linear?.());
  return (u, si, i0, i1) => {
    const p = linear(u, si, i0, i1);
    if (!p || !(p.stroke instanceof Path2D) || i1 - i0 + 1 < u.bbox.width) return p;
    const ratio = dpr();
    const copies = Math.max(1, Math.round((u.series[si].width ?? 1) * ratio * 2) - 1);
    if (copies > 1) {
      const stack = new Path2D();
      for (let k = 0; k < copies; k++) stack.addPath(p.stroke, { a: 1, b: 0, c: 0, d: 1, e: 0, f: (k - (copies - 1) / 2) / 2 });
      p.stroke = stack;
    }
    // uPlot reads a per-draw width from `_width` (its .d.ts calls it `width`, which it ignores).
    /** @type {uPlot.Series.Paths & {_width?: number}} */ (p)._width = 1 / ratio;
    return p;
  };
}

/**
 * A bar path builder that draws bars closer than two device pixels as a stepped area instead: at
 * that density the picture is the same, but thousands of one-pixel rectangles in one path made the
 * software rasterizer take 380 ms a frame for a 2,500-bar stack, where the step outline takes
 * about as long as a line (measured in bench/browser).
 * @param {uPlot.Series.PathBuilder | undefined} bars
 * @returns {uPlot.Series.PathBuilder | undefined}
 */
function denseBars(bars) {
  const steps = uPlot.paths.stepped?.({ align: 1 });
  if (!bars || !steps) return bars;
  const stepped = densePaths(steps);
  return (u, si, i0, i1) => ((i1 - i0 + 1) * 2 >= u.bbox.width ? stepped(u, si, i0, i1) : bars(u, si, i0, i1));
}

/**
 * The x range a chart's series span, or null when a series is out of x order (its ends are then
 * not its extremes) or there are no points.
 * @param {Series[]} list
 * @returns {[number, number] | null}
 */
function xRange(list) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of list) {
    if (s.length === 0) continue;
    if (!s.sorted) return null;
    const first = s.xs[s.head];
    const last = /** @type {number} */ (s.lastX());
    if (first < lo) lo = first;
    if (last > hi) hi = last;
  }
  return hi >= lo ? [lo, hi] : null;
}

/**
 * The smallest and largest x of the series, whatever their order, or null when there are no points.
 * @param {Series[]} list
 * @returns {[number, number] | null}
 */
function xExtent(list) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of list) {
    if (s.length === 0) continue;
    if (s.sorted) {
      lo = Math.min(lo, s.xs[s.head]);
      hi = Math.max(hi, /** @type {number} */ (s.lastX()));
      continue;
    }
    for (let i = s.head; i < s.xs.length; i++) {
      if (s.xs[i] < lo) lo = s.xs[i];
      if (s.xs[i] > hi) hi = s.xs[i];
    }
  }
  return hi >= lo ? [lo, hi] : null;
}

/** @extends {SvWidget<ChartWidget>} */
export class SvChart extends SvWidget {
  static define() {
    if (!customElements.get('sv-chart')) customElements.define('sv-chart', SvChart);
  }

  constructor() {
    super();
    this.legend = el('div', 'sv-legend');
    this.legendX = el('span', 'sv-legend-x');
    this.plotBox = el('div', 'sv-chart-plot');
    // The canvas says nothing to a screen reader: its box is an image with a summary for a name,
    // and focusable, so the arrow keys can walk its points (each reading announced by `live`).
    this.plotBox.setAttribute('role', 'img');
    this.plotBox.tabIndex = 0;
    this.live = el('div', 'sv-sr-only');
    this.live.setAttribute('aria-live', 'polite');
    this.live.setAttribute('aria-atomic', 'true');
    /** The reading at the cursor; it repeats the live region for sighted users. */
    this.tip = el('div', 'sv-tip');
    this.tip.setAttribute('aria-hidden', 'true');
    this.tip.hidden = true;
    this.empty = el('div', 'sv-empty', 'waiting for data');
    this.plotBox.append(this.empty);
    /**
     * The x (in plot units) the cursor stays on while data scrolls under it, and who put it there:
     * the pointer (until it moves or leaves) or the keyboard (until Escape or blur).
     * @type {{x: number, by: 'pointer' | 'key'} | null}
     */
    this.pin = null;
    /** Per series: the decimals its values have needed, for legend and tooltip. */
    /** @type {Decimals[]} */
    this.decimals = [];
    /** When the text alternative was last written, and the timer that writes the next. */
    this.labelAt = -Infinity;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.labelTimer = null;
    this.onKey = this.onKey.bind(this);
    this.onBlur = () => this.unpin('key');
    /** @type {uPlot | null} */
    this.plot = null;
    /** @type {string[] | null} a category chart's category names, by x position */
    this.labels = null;
    this.shape = '';
    /** @type {Series[]} */
    this.list = [];
    /** @type {string[]} what each of this.list is called (chart-text.js seriesNames) */
    this.names = [];
    /** @type {LegendView[]} */
    this.legendViews = [];
    /**
     * The view is held (zoomed by drag, wheel, pinch or keys): new data keeps arriving into the
     * state and is counted, but the plot keeps the columns it had until "resume" or a double-click.
     * @type {Held | null}
     */
    this.held = null;
    /** Points received since the hold began, and the widget state's count when last looked at. */
    this.heldNew = 0;
    /** @type {{w: ChartWidget, received: number} | null} */
    this.seen = null;
    /** Series (by name) hidden from the legend: kept across plot rebuilds, left out of stacks. */
    /** @type {Set<string>} */
    this.hiddenSeries = new Set();
    /**
     * A stacked chart's own values per series, row-aligned with the plot's columns (which hold
     * the running sums): what the legend and tooltip read. Null for other types.
     * @type {YColumn[] | null}
     */
    this.own = null;
    this.heldBar = el('div', 'sv-held');
    this.heldBar.setAttribute('role', 'status');
    this.heldText = el('span', 'sv-held-text');
    this.resumeBtn = el('button', 'sv-held-resume', 'resume');
    this.resumeBtn.type = 'button';
    this.resumeBtn.title = 'return to the live view';
    this.resumeBtn.addEventListener('click', () => this.resume());
    this.heldBar.append(this.heldText, this.resumeBtn);
    this.heldBar.hidden = true;
    this.plotBox.append(this.heldBar);
    /** Touch points on the plot, for pinch zoom: pointerId -> clientX. */
    /** @type {Map<number, number>} */
    this.touches = new Map();
    this.onWheel = this.onWheel.bind(this);
    this.onPointerDown = this.onPointerDown.bind(this);
    this.onPointerMove = this.onPointerMove.bind(this);
    this.onPointerUp = this.onPointerUp.bind(this);
    /** @type {{width: number, height: number} | null} */
    this.pendingSize = null;
    /** @type {ResizeObserver | null} */
    this.ro = null;
    /**
     * What the canvas shows: the x range of the data, whether it was decimated, and when.
     * @type {{x0: number, x1: number, dense: boolean, at: number} | null}
     */
    this.drawnRange = null;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.lateTimer = null;
  }

  /**
   * The element's data-points / data-last-y report the state it holds, drawn or not (a chart out
   * of view, or holding back a sub-pixel change, still says what it has).
   * @param {ChartWidget} w
   */
  update(w) {
    let points = 0;
    for (const s of w.state.series.values()) points += s.length;
    // A snapshot makes a new widget object: its points are not news, only what arrives after.
    if (this.held && this.seen?.w === w) this.heldNew += Math.max(0, w.state.received - this.seen.received);
    this.seen = { w, received: w.state.received };
    const text = String(points);
    if (this.dataset.points !== text) this.dataset.points = text;
    const last = w.state.lastSeries === null ? undefined : w.state.series.get(w.state.lastSeries)?.lastY();
    if (last === undefined) {
      if (this.hasAttribute('data-last-y')) this.removeAttribute('data-last-y');
    } else {
      const y = String(last);
      if (this.dataset.lastY !== y) this.dataset.lastY = y;
    }
    super.update(w);
  }

  setup() {
    if (!this.firstChild) this.append(this.legend, this.plotBox, this.live);
    this.plotBox.addEventListener('keydown', this.onKey);
    this.plotBox.addEventListener('blur', this.onBlur);
    this.ro = new ResizeObserver((entries) => {
      const r = entries[entries.length - 1].contentRect;
      const size = { width: Math.floor(r.width), height: Math.floor(r.height) };
      if (size.width <= 0 || size.height <= 0) return;
      if (this.plot && this.plot.width === size.width && this.plot.height === size.height) return;
      this.pendingSize = size;
      this.markDirty();
    });
    this.ro.observe(this.plotBox);
  }

  teardown() {
    this.plotBox.removeEventListener('keydown', this.onKey);
    this.plotBox.removeEventListener('blur', this.onBlur);
    this.pin = null;
    if (this.labelTimer !== null) clearTimeout(this.labelTimer);
    this.labelTimer = null;
    this.ro?.disconnect();
    this.ro = null;
    if (this.lateTimer !== null) clearTimeout(this.lateTimer);
    this.lateTimer = null;
    this.plot?.destroy();
    this.plot = null;
    this.shape = '';
    this.drawnRange = null;
    this.endHold();
  }

  /** @param {ChartWidget} w */
  render(w) {
    const all = [...w.state.series.values()];
    // The default series leads, the named ones follow by name, as snapshots list them: arrival
    // order would give a series another colour after every reload.
    const named = all.filter((s) => s.name !== '').sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    this.list = [...all.filter((s) => s.name === ''), ...named];
    this.names = seriesNames(w.config, this.list.map((s) => s.name));
    let points = 0;
    for (const s of this.list) points += s.length;
    if (this.empty.hidden !== points > 0) this.empty.hidden = points > 0;

    const c = w.config;
    const timeAxis = isTimeAxis(this.list);
    const shape = JSON.stringify([c.chart_type, c.color, timeAxis, this.list.map((s) => s.name), c.title, c.label, c.x_type, forcedColors(), document.documentElement.dataset.themeKey, c.y_min, c.y_max, c.y_scale, c.thresholds]);
    const reuse = this.plot !== null && shape === this.shape;
    // A new shape (series, type, theme...) is a new plot: a hold on the old one ends.
    if (!reuse) this.endHold();
    if (reuse && this.held) {
      // Held: the plot keeps its columns; only the count of what arrived meanwhile moves.
      this.showHeld();
      if (this.pendingSize) /** @type {uPlot} */ (this.plot).setSize(this.pendingSize);
      this.pendingSize = null;
      return;
    }
    if (reuse && !this.pendingSize && this.holdBack()) return;

    // Lines and areas through far more points than pixels are decimated, and so are stacked bars
    // (each stack's extremes per pixel column are kept, so the bars' outline is the same; a
    // 5,000-bar stack took 120 ms a frame); bars and dots are not (a dot inside a column's range
    // is still a visible dot).
    const decimable = c.chart_type === 'line' || c.chart_type === 'area' || isStacked(c.chart_type);
    const cd = this.columns(w, decimable ? this.plotPixels() : 0);
    if (!reuse) {
      this.plot?.destroy();
      this.shape = shape;
      this.create(w, cd.time, cd.data);
      this.buildLegend(w);
    } else {
      const plot = /** @type {uPlot} */ (this.plot);
      plot.batch(() => {
        if (this.pendingSize) plot.setSize(this.pendingSize);
        plot.setData(cd.data, true);
      });
    }
    this.pendingSize = null;
    const range = xRange(this.list);
    this.drawnRange = range && { x0: range[0], x1: range[1], dense: cd.decimated, at: performance.now() };
    this.repin();
    this.updateLegend();
    this.labelSummary(!reuse);
  }

  /**
   * The plot's columns from the live series: aligned (chart-data.js), for category charts by
   * category, for stacked charts as running sums of the shown series (this.own gets each one's
   * own values), min/max-decimated to `width` device pixels when given.
   * @param {ChartWidget} w
   * @param {number} width
   * @returns {ChartData & {decimated: boolean}}
   */
  columns(w, width) {
    const c = w.config;
    // A category chart's x are positions; labels name them.
    const cat = c.x_type === 'category' ? buildCategoryData(this.list, w.state.categories.names) : null;
    this.labels = cat ? cat.labels : null;
    if (isStacked(c.chart_type)) {
      const st = buildStackedData(cat ?? buildChartData(this.list), this.shownList(), width);
      this.own = st.own;
      return st;
    }
    this.own = null;
    return cat ?? buildPlotData(this.list, width);
  }

  /** Per series of this.list: whether the legend shows it. */
  shownList() {
    return this.list.map((s) => !this.hiddenSeries.has(s.name));
  }

  /**
   * Holds the view: the plot keeps every point it has now, undecimated (a zoom finds them all),
   * while new data is counted and shown as "paused, N new points" beside a resume button.
   * Does nothing when already held.
   */
  hold() {
    const w = this.widget;
    const plot = this.plot;
    if (this.held || !w || !plot) return;
    const c = w.config;
    const cat = c.x_type === 'category' ? buildCategoryData(this.list, w.state.categories.names) : null;
    const base = cat ?? buildChartData(this.list);
    this.held = { base, labels: cat ? cat.labels : null, last: this.list.map((s) => s.lastY()) };
    this.heldNew = 0;
    this.labels = this.held.labels;
    this.setHeldData(false);
    this.showHeld();
  }

  /**
   * Hands the plot the held columns (re-stacked for the series shown now).
   * @param {boolean} reset  let uPlot fit the scales to them
   */
  setHeldData(reset) {
    const plot = this.plot;
    const w = this.widget;
    if (!this.held || !plot || !w) return;
    const base = this.held.base;
    if (isStacked(w.config.chart_type)) {
      const st = buildStackedData(base, this.shownList(), 0);
      this.own = st.own;
      plot.setData(st.data, reset);
    } else {
      plot.setData(base.data, reset);
    }
  }

  /** Back to live: the plot follows the data again, over its whole range. */
  resume() {
    if (!this.held) return;
    this.endHold();
    this.markDirty();
  }

  endHold() {
    this.held = null;
    this.heldNew = 0;
    this.touches.clear();
    if (!this.heldBar.hidden) this.heldBar.hidden = true;
    if (this.dataset.held !== undefined) delete this.dataset.held;
  }

  showHeld() {
    const n = this.heldNew;
    setText(this.heldText, `paused, ${n.toLocaleString('en-US')} new point${n === 1 ? '' : 's'}`);
    if (this.heldBar.hidden) this.heldBar.hidden = false;
    if (this.dataset.held !== '1') this.dataset.held = '1';
  }

  /**
   * Zooms the x axis around `at` (plot units) by `factor` (< 1 zooms in), holding the view; a zoom
   * out past the whole data range returns to live.
   * @param {number} at
   * @param {number} factor
   */
  zoomX(at, factor) {
    const plot = this.plot;
    if (!plot || this.widget?.config.x_type === 'category') return;
    const { min, max } = plot.scales.x;
    if (min === undefined || max === undefined || !(max > min)) return;
    this.hold();
    const [lo, hi] = this.extent();
    let a = at - (at - min) * factor;
    let b = at + (max - at) * factor;
    if (factor > 1 && a <= lo && b >= hi) {
      this.resume();
      return;
    }
    // Not narrower than a millionth of the data (the axis would only repeat one label).
    if (b - a < (hi - lo) * 1e-6) return;
    a = Math.max(a, lo);
    b = Math.min(b, hi);
    if (b > a) plot.setScale('x', { min: a, max: b });
  }

  /**
   * Moves the held x range by `frac` of its width (negative: back in time), inside the data.
   * @param {number} frac
   */
  panX(frac) {
    const plot = this.plot;
    if (!plot || !this.held || this.widget?.config.x_type === 'category') return;
    const { min, max } = plot.scales.x;
    if (min === undefined || max === undefined) return;
    const [lo, hi] = this.extent();
    const span = max - min;
    const a = Math.min(Math.max(min + frac * span, lo), Math.max(lo, hi - span));
    plot.setScale('x', { min: a, max: a + span });
  }

  /** The x range of the plot's columns. */
  extent() {
    const xs = /** @type {number[]} */ (/** @type {uPlot} */ (this.plot).data[0]);
    return xs.length ? [xs[0], xs[xs.length - 1]] : [0, 1];
  }

  /**
   * Wheel over the plot: with Ctrl or ⌘ (a trackpad pinch arrives so), or on a chart already
   * zoomed, zooms the time range around the pointer; Shift or a sideways wheel pans a zoomed one.
   * A plain wheel on a live chart scrolls the page as usual: a dashboard of charts must stay
   * scrollable.
   * @param {WheelEvent} ev
   */
  onWheel(ev) {
    const plot = this.plot;
    if (!plot) return;
    const zoomKey = ev.ctrlKey || ev.metaKey;
    if (!zoomKey && !this.held) return;
    ev.preventDefault();
    const px = ev.deltaMode === 1 ? 40 : ev.deltaMode === 2 ? 800 : 1;
    const dx = ev.deltaX * px;
    const dy = ev.deltaY * px;
    if (!zoomKey && (ev.shiftKey || Math.abs(dx) > Math.abs(dy))) {
      this.panX((ev.shiftKey && dx === 0 ? dy : dx) / Math.max(plot.bbox.width / dpr(), 1));
      return;
    }
    const rect = plot.over.getBoundingClientRect();
    const at = plot.posToVal(ev.clientX - rect.left, 'x');
    this.zoomX(at, WHEEL_ZOOM ** (dy / 100));
  }

  /** @param {PointerEvent} ev */
  onPointerDown(ev) {
    if (ev.pointerType !== 'touch') return;
    this.touches.set(ev.pointerId, ev.clientX);
  }

  /**
   * Two fingers apart or together zoom the x range around their middle.
   * @param {PointerEvent} ev
   */
  onPointerMove(ev) {
    const plot = this.plot;
    if (ev.pointerType !== 'touch' || !plot || !this.touches.has(ev.pointerId)) return;
    if (this.touches.size !== 2) {
      this.touches.set(ev.pointerId, ev.clientX);
      return;
    }
    const [a, b] = [...this.touches.values()];
    const before = Math.abs(a - b);
    this.touches.set(ev.pointerId, ev.clientX);
    const [c, d] = [...this.touches.values()];
    const after = Math.abs(c - d);
    if (before < 10 || after < 10) return;
    const rect = plot.over.getBoundingClientRect();
    this.zoomX(plot.posToVal((c + d) / 2 - rect.left, 'x'), before / after);
  }

  /** @param {PointerEvent} ev */
  onPointerUp(ev) {
    this.touches.delete(ev.pointerId);
  }

  /**
   * Writes the text alternative, at most once a second (a live chart redraws every frame, and the
   * summary scans every point), and always once after the last change.
   * @param {boolean} now  the plot was rebuilt: label it at once
   */
  labelSummary(now) {
    const wait = now ? 0 : this.labelAt + SUMMARY_EVERY_MS - performance.now();
    if (wait > 0) {
      this.labelTimer ??= setTimeout(() => {
        this.labelTimer = null;
        this.labelSummary(true);
      }, wait);
      return;
    }
    if (this.labelTimer !== null) clearTimeout(this.labelTimer);
    this.labelTimer = null;
    this.labelAt = performance.now();
    const w = this.widget;
    if (!w) return;
    const text = this.summary(w);
    if (this.plotBox.getAttribute('aria-label') !== text) this.plotBox.setAttribute('aria-label', text);
  }

  /**
   * The chart's text alternative (chart-text.js chartSummary).
   * @param {ChartWidget} w
   */
  summary(w) {
    const time = this.plot?.scales.x.time ?? false;
    // Points that arrived out of x order span their extremes too (xRange gives up on them).
    const range = xExtent(this.list);
    const scale = time ? 1000 : 1;
    const series = this.list.map((s, i) => {
      let lo = Infinity;
      let hi = -Infinity;
      for (let k = s.head; k < s.ys.length; k++) {
        const y = s.ys[k];
        if (y === null) continue;
        if (y < lo) lo = y;
        if (y > hi) hi = y;
      }
      // The decimals are chosen from the data's extremes and latest value before any is written.
      const d = (this.decimals[i] ??= new Decimals());
      for (const v of [lo, hi, s.lastY()]) if (Number.isFinite(v)) d.see(v);
      const f = (/** @type {number | null | undefined} */ v) => this.valueText(i, v);
      return { name: this.names[i], last: f(s.lastY()), min: f(lo === Infinity ? null : lo), max: f(hi === -Infinity ? null : hi), count: s.length };
    });
    return chartSummary({
      title: w.config.title,
      kind: w.config.chart_type,
      series,
      from: this.labels ? this.labels[0] ?? '' : range ? xText(range[0] / scale, time) : '',
      to: this.labels ? this.labels[this.labels.length - 1] ?? '' : range ? xText(range[1] / scale, time) : '',
    });
  }

  /**
   * An x as text: a category's name in a category chart, else the time or number.
   * @param {number} x
   * @param {boolean} time
   */
  xLabel(x, time) {
    return this.labels ? this.labels[x] ?? '' : xText(x, time);
  }

  /**
   * A y value with its unit, in the widget's format or the series' stable decimals.
   * @param {number} i  series index
   * @param {number | null | undefined} y
   */
  valueText(i, y) {
    const w = this.widget;
    if (y === undefined || !w) return '';
    const d = (this.decimals[i] ??= new Decimals());
    const { unit, format } = w.config;
    return d.format(y, format) + (unit && y !== null ? ` ${unit}` : '');
  }

  /**
   * Keyboard reading of the points: arrows step (Shift: ten at a time), Home and End jump to the
   * ends, Escape lets go. Each step moves the cursor and announces the reading.
   * @param {KeyboardEvent} ev
   */
  onKey(ev) {
    const plot = this.plot;
    if (!plot) return;
    const xs = /** @type {number[]} */ (plot.data[0]);
    if (xs.length === 0) return;
    if (ev.key === 'Escape') {
      this.unpin('key');
      return;
    }
    // + and - zoom around the middle (or the point read), 0 returns to live.
    if (ev.key === '+' || ev.key === '=' || ev.key === '-' || ev.key === '0') {
      ev.preventDefault();
      if (ev.key === '0') {
        this.resume();
        return;
      }
      const { min = 0, max = 0 } = plot.scales.x;
      this.zoomX(this.pin ? this.pin.x : (min + max) / 2, ev.key === '-' ? WHEEL_ZOOM : 1 / WHEEL_ZOOM);
      return;
    }
    const cur = this.pin ? nearestIndex(xs, this.pin.x) : xs.length;
    const step = ev.shiftKey ? 10 : 1;
    let idx;
    switch (ev.key) {
      case 'ArrowLeft': case 'ArrowDown': idx = Math.max(0, Math.min(cur, xs.length) - step); break;
      case 'ArrowRight': case 'ArrowUp': idx = this.pin ? Math.min(xs.length - 1, cur + step) : xs.length - 1; break;
      case 'Home': idx = 0; break;
      case 'End': idx = xs.length - 1; break;
      default: return;
    }
    ev.preventDefault();
    this.pin = { x: xs[idx], by: 'key' };
    this.moveCursor(idx);
    setText(this.live, this.reading(idx).join('; '));
  }

  /**
   * Puts uPlot's cursor on point idx (its x; y at the first visible series' value there).
   * @param {number} idx
   */
  moveCursor(idx) {
    const plot = /** @type {uPlot} */ (this.plot);
    const x = /** @type {number} */ (plot.data[0][idx]);
    let top = plot.cursor.top ?? -10;
    if (this.pin?.by === 'key') {
      for (let i = 1; i < plot.series.length; i++) {
        const y = plot.data[i][idx];
        if (plot.series[i].show !== false && y !== null && y !== undefined) {
          top = plot.valToPos(y, 'y');
          break;
        }
      }
    }
    plot.setCursor({ left: plot.valToPos(x, 'x'), top });
  }

  /**
   * After new data: the cursor goes back to the point it was on (which has moved as the chart
   * scrolled), or lets go when that point has left the chart.
   */
  repin() {
    const plot = this.plot;
    if (!plot || !this.pin) return;
    const xs = /** @type {number[]} */ (plot.data[0]);
    if (xs.length === 0 || this.pin.x < xs[0] || this.pin.x > xs[xs.length - 1]) {
      this.unpin(this.pin.by);
      return;
    }
    this.moveCursor(nearestIndex(xs, this.pin.x));
  }

  /** @param {'pointer' | 'key'} by */
  unpin(by) {
    if (this.pin?.by !== by) return;
    this.pin = null;
    if (by === 'key' && this.plot) this.plot.setCursor({ left: -10, top: -10 });
  }

  /**
   * The reading at point idx: x, then every visible series' value.
   * @param {number} idx
   * @returns {string[]}
   */
  reading(idx) {
    return this.readingParts(idx).map(([name, text]) => (name === null ? text : `${name}: ${text}`));
  }

  /**
   * The reading at point idx as [series name, value text] pairs, the x first with a null name:
   * the tooltip sets each name apart from its value (a name is data).
   * @param {number} idx
   * @returns {[string | null, string][]}
   */
  readingParts(idx) {
    const plot = this.plot;
    const w = this.widget;
    if (!plot || !w) return [];
    /** @type {[string | null, string][]} */
    const parts = [[null, this.xLabel(/** @type {number} */ (plot.data[0][idx]), plot.scales.x.time ?? false)]];
    this.list.forEach((s, i) => {
      if (plot.series[i + 1]?.show === false) return;
      const y = (this.own ? this.own[i] : plot.data[i + 1])[idx];
      parts.push([this.names[i], y === undefined ? 'no point' : this.valueText(i, y)]);
    });
    return parts;
  }

  /**
   * Whether to skip this redraw: the chart is decimated and its x range moved less than a device
   * pixel since it was drawn, so the new data only changes its newest column. It is drawn anyway
   * once SUBPIXEL_MAX_WAIT_MS have passed since the last draw.
   */
  holdBack() {
    const d = this.drawnRange;
    const plot = this.plot;
    if (!d || !d.dense || !plot) return false;
    const range = xRange(this.list);
    if (!range || !(range[1] > range[0])) return false;
    const shift = Math.max(Math.abs(range[0] - d.x0), Math.abs(range[1] - d.x1)) / (range[1] - range[0]) * plot.bbox.width;
    if (shift >= 1) return false;
    const wait = d.at + SUBPIXEL_MAX_WAIT_MS - performance.now();
    if (wait <= 0) return false;
    this.dirty = true;
    this.lateTimer ??= setTimeout(() => {
      this.lateTimer = null;
      this.markDirty();
    }, wait);
    return true;
  }

  /** The plot area's width in device pixels: the columns a decimated series keeps points for. */
  plotPixels() {
    if (this.pendingSize) return Math.ceil(this.pendingSize.width * dpr());
    if (this.plot) return Math.ceil(this.plot.bbox.width);
    // Before the plot exists its axes are unknown: the whole box is a little more than needed.
    return Math.ceil(this.plotBox.getBoundingClientRect().width * dpr());
  }

  /** @returns {string[]} */
  palette() {
    const cs = getComputedStyle(this);
    const out = [];
    for (let i = 1; i <= 8; i++) {
      const v = cs.getPropertyValue(`--sv-series-${i}`).trim();
      if (v) out.push(v);
    }
    return out.length ? out : ['#4cc9f0'];
  }

  /**
   * @param {ChartWidget} w
   * @param {number} i  series index among this.list
   */
  colorOf(w, i) {
    if (forcedColors()) return systemColor('CanvasText');
    const pal = this.palette();
    if (i === 0 && w.config.color) return w.config.color;
    return pal[(w.config.color ? i - 1 : i) % pal.length];
  }

  /**
   * @param {ChartWidget} w
   * @param {boolean} time
   * @param {uPlot.AlignedData} data
   */
  create(w, time, data) {
    const cs = getComputedStyle(this);
    const forced = forcedColors();
    const axis = forced ? systemColor('CanvasText') : cs.getPropertyValue('--sv-chart-axis').trim() || '#8a94a6';
    const grid = forced ? systemColor('GrayText') : cs.getPropertyValue('--sv-chart-grid').trim() || 'rgba(255,255,255,0.07)';
    const font = `11px ${cs.fontFamily || 'system-ui, sans-serif'}`;
    this.decimals = this.list.map(() => new Decimals());
    // Tick labels never collide: ticks are at least the widest label (plus a gap) apart. They are
    // never clipped: the plot keeps half a label of room on each side of the x axis.
    const xLabelWidth = (/** @type {number} */ min, /** @type {number} */ max) => time
      ? textWidth(max - min < SUBSECOND_SPAN ? WIDEST_SUBSECOND_TICK : WIDEST_TIME_TICK, font)
      : Math.max(textWidth(formatDefault(min), font), textWidth(formatDefault(max), font), textWidth('0.00', font));
    const xHalf = () => {
      const sx = this.plot?.scales.x;
      return Math.ceil(xLabelWidth(sx?.min ?? 0, sx?.max ?? 0) / 2) + 2;
    };
    const rect = this.plotBox.getBoundingClientRect();
    const size = this.pendingSize ?? (rect.width > 0 && rect.height > 0
      ? { width: Math.floor(rect.width), height: Math.floor(rect.height) }
      : FALLBACK);
    const type = w.config.chart_type;
    const stacked = isStacked(type);
    const barLike = type === 'bar' || type === 'stacked_bar';
    const bars = barLike && uPlot.paths?.bars ? uPlot.paths.bars({ size: [0.6, 64] }) : undefined;
    // Several series of a category chart stand side by side in each category's slot.
    const grouped = type === 'bar' && w.config.x_type === 'category' && this.list.length > 1 && uPlot.paths?.bars;
    const barWidth = 0.8 / Math.max(this.list.length, 1);
    /** @param {number} i  series index among this.list */
    const groupedBars = (i) => /** @type {NonNullable<typeof uPlot.paths.bars>} */ (uPlot.paths.bars)({
      disp: {
        x0: { unit: 1, values: (u) => /** @type {number[]} */ (u.data[0]).map((x) => x - 0.4 + i * barWidth) },
        size: { unit: 1, values: () => [barWidth * 0.9] },
      },
    });
    /**
     * The range around the data's only x, when every point has the same x; else null.
     * @param {uPlot} u
     * @returns {uPlot.Range.MinMax | null}
     */
    const singleX = (u) => {
      const xs = u.data[0];
      return xs.length > 0 && xs[0] === xs[xs.length - 1] ? xRangeOf(xs[0], xs[0], time) : null;
    };
    const series = this.list.map((s, i) => {
      const color = this.colorOf(w, i);
      /** @type {uPlot.Series} */
      const o = { label: this.names[i], stroke: color, width: 1.5, show: !this.hiddenSeries.has(s.name) };
      if (type === 'line' || type === 'area' || type === 'stacked_area') o.paths = densePaths();
      if (forced) o.dash = FORCED_DASHES[i % FORCED_DASHES.length];
      if (type === 'area' && !forced) o.fill = withAlpha(color, 0.18);
      // A stacked area is filled from the series below it (bands), so its colour is its share.
      if (type === 'stacked_area') o.fill = forced ? systemColor('Canvas') : withAlpha(color, 0.45);
      if (type === 'bar') Object.assign(o, { fill: forced ? systemColor('Canvas') : withAlpha(color, 0.55), paths: grouped ? groupedBars(i) : bars, points: { show: false } });
      if (type === 'stacked_bar') Object.assign(o, { fill: forced ? systemColor('Canvas') : withAlpha(color, 0.7), paths: denseBars(bars), points: { show: false } });
      if (type === 'scatter') {
        Object.assign(o, { paths: () => null, points: { show: true, size: 5, width: 1, stroke: color, fill: color } });
      }
      return o;
    });
    /** @type {uPlot.Axis} */
    const axisOpts = {
      stroke: axis,
      font,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1, size: 4 },
    };
    /** @type {uPlot.Options} */
    const opts = {
      ...size,
      legend: { show: false },
      // Room on the right for the last x label's right half (the y axis gives the left its room).
      padding: [8, (u) => xHalf(), 0, 0],
      cursor: { drag: { x: true, y: false } },
      scales: {
        x: w.config.x_type === 'category'
          // One slot per category, each centred on its position.
          ? { time: false, range: (u) => [-0.5, Math.max(u.data[0].length, 1) - 0.5] }
          : barLike || type === 'scatter'
          // Bars and dots are centred on their x: without half a step of room the end ones are cut.
          ? { time, range: (u, min, max) => {
            const n = u.data[0].length;
            if (n <= 1) return singleX(u) ?? [min, max];
            const pad = (max - min) / (n - 1) / 2;
            return [min - pad, max + pad];
          } }
          // uPlot gives a single x a range of 86,400,000 s on a time axis (years): centre it instead.
          : { time, range: (u, min, max) => singleX(u) ?? [min, max] },
        // Bars measure from zero; a y axis that starts elsewhere would misstate their ratios.
        y: yScale(w.config, barLike || stacked),
      },
      series: [{}, ...series],
      bands: stacked ? this.bands() : [],
      axes: [
        w.config.x_type === 'category'
          ? {
            ...axisOpts,
            // A tick per category, named; uPlot skips labels that would not fit.
            splits: (u) => /** @type {number[]} */ (u.data[0]),
            values: (_u, t) => t.map((v) => this.labels?.[v] ?? ''),
          }
          : {
            ...axisOpts,
            values: time
              ? (_u, t, _i, _space, incr) => t.map((v) => timeTick(v, incr))
              : (_u, t) => t.map((v) => formatDefault(v)),
            space: (_u, _i, min, max) => Math.ceil(xLabelWidth(min, max)) + 16,
          },
        {
          ...axisOpts,
          ...(w.config.y_scale === 'log' ? {} : { incrs: Y_INCRS }),
          values: (_u, t) => t.map((v) => this.tick(v)),
          // Wide enough for the longest tick label, measured, so large numbers are not clipped,
          // and for half the first x label, which is centred on the y axis's edge at worst.
          size: (_u, vals) => Math.max(
            vals ? Math.ceil(Math.max(...vals.map((v) => textWidth(v, font)), 0)) + 4 + 5 + 6 : 40,
            xHalf(),
          ),
        },
      ],
      hooks: {
        // Threshold lines (config thresholds, as on gauges): dashed, across the plot, under the cursor.
        draw: [(u) => {
          const th = w.config.thresholds;
          if (!th.length) return;
          const { ctx, bbox } = u;
          ctx.save();
          ctx.lineWidth = Math.max(1, Math.round(dpr()));
          ctx.setLineDash([6 * dpr(), 4 * dpr()]);
          for (const [v, color] of th) {
            const y = Math.round(u.valToPos(v, 'y', true));
            if (!(y >= bbox.top && y <= bbox.top + bbox.height)) continue;
            ctx.strokeStyle = forced ? systemColor('CanvasText') : color;
            ctx.beginPath();
            ctx.moveTo(bbox.left, y);
            ctx.lineTo(bbox.left + bbox.width, y);
            ctx.stroke();
          }
          ctx.restore();
        }],
        setSelect: [(u) => {
          // A drag zoomed in (uPlot set the x scale): the view is held, with every point.
          if (u.select.width > 2) this.hold();
        }],
        setCursor: [() => this.updateLegend()],
      },
    };
    const plot = new uPlot(opts, data, this.plotBox);
    this.plot = plot;
    plot.over.append(this.tip);
    plot.over.addEventListener('dblclick', () => this.resume());
    plot.over.addEventListener('wheel', this.onWheel, { passive: false });
    plot.over.addEventListener('pointerdown', this.onPointerDown);
    plot.over.addEventListener('pointermove', this.onPointerMove);
    plot.over.addEventListener('pointerup', this.onPointerUp);
    plot.over.addEventListener('pointercancel', this.onPointerUp);
    // A still pointer stays on its point while the data scrolls under it (repin); moving it
    // picks the point under it again. uPlot's own listener has already moved the cursor.
    plot.over.addEventListener('mousemove', () => {
      const idx = plot.cursor.idx;
      this.pin = idx === null || idx === undefined ? null : { x: /** @type {number} */ (plot.data[0][idx]), by: 'pointer' };
    });
    plot.over.addEventListener('mouseleave', () => this.unpin('pointer'));
  }

  /** @param {number | null} v  null: a tick uPlot leaves unlabelled (a log axis's minor ticks) */
  tick(v) {
    if (v === null || !Number.isFinite(v)) return '';
    const f = this.widget?.config.format;
    // A config's format (",.0f") would print the same label on fine ticks; percent is the
    // exception, as raw ratios on the axis would contradict the legend.
    return f && f.endsWith('%') ? `${formatDefault(v * 100)}%` : formatDefault(v);
  }

  /** @param {ChartWidget} w */
  buildLegend(w) {
    this.legendViews = this.list.map((s, i) => {
      const item = el('button', 'sv-legend-item');
      item.type = 'button';
      item.title = 'show or hide this series';
      const sw = el('span', 'sv-legend-swatch');
      sw.style.background = this.colorOf(w, i);
      const value = el('span', 'sv-legend-value');
      const label = el('span', 'sv-legend-label', this.names[i]);
      label.dir = 'auto';
      item.append(sw, label, value);
      const shown = !this.hiddenSeries.has(s.name);
      item.setAttribute('aria-pressed', String(shown));
      item.classList.toggle('sv-off', !shown);
      // A button: click, Enter and Space all toggle it.
      item.addEventListener('click', () => this.toggleSeries(s.name, i, item));
      return { item, value };
    });
    this.legend.replaceChildren(this.legendX, ...this.legendViews.map((v) => v.item));
  }

  /**
   * Shows or hides a series. Hidden, it leaves the y autoscale (uPlot ranges shown series only) and
   * a stack (the series above it sit on the ones below).
   * @param {string} name
   * @param {number} i  index among this.list
   * @param {HTMLElement} item  its legend button
   */
  toggleSeries(name, i, item) {
    const plot = this.plot;
    const w = this.widget;
    if (!plot || !w) return;
    const show = this.hiddenSeries.has(name);
    if (show) this.hiddenSeries.delete(name);
    else this.hiddenSeries.add(name);
    item.classList.toggle('sv-off', !show);
    item.setAttribute('aria-pressed', String(show));
    if (isStacked(w.config.chart_type)) {
      plot.batch(() => {
        plot.setSeries(i + 1, { show });
        plot.delBand(null);
        for (const b of this.bands()) plot.addBand(b);
        if (this.held) this.setHeldData(false);
        else plot.setData(this.columns(w, this.plotPixels()).data, true);
      });
    } else {
      plot.setSeries(i + 1, { show });
    }
  }

  /**
   * A stacked chart's bands: each shown series is filled down to the next shown series below it
   * (uPlot clips the fill between the two lines); the lowest is filled down to zero.
   * @returns {uPlot.Band[]}
   */
  bands() {
    /** @type {uPlot.Band[]} */
    const out = [];
    let below = -1;
    this.list.forEach((s, i) => {
      if (this.hiddenSeries.has(s.name)) return;
      if (below >= 0) out.push({ series: [i + 1, below + 1] });
      below = i;
    });
    return out;
  }

  /**
   * Shows the values under the cursor, or the latest ones when it is away, and the reading at the
   * cursor beside it.
   */
  updateLegend() {
    const w = this.widget;
    const plot = this.plot;
    if (!w || !plot) return;
    const idx = plot.cursor.idx;
    const hover = idx !== null && idx !== undefined && idx < plot.data[0].length ? idx : null;
    const x = hover === null ? null : plot.data[0][hover];
    setText(this.legendX, x === null ? '' : this.xLabel(x, plot.scales.x.time ?? false));
    this.list.forEach((s, i) => {
      const view = this.legendViews[i];
      if (!view) return;
      const latest = this.held ? this.held.last[i] : s.lastY();
      setText(view.value, this.valueText(i, hover === null ? latest : (this.own ? this.own[i] : plot.data[i + 1])[hover]));
    });
    this.placeTip(hover);
  }

  /**
   * The tooltip at the cursor: x and every visible series' value, on the side of the cursor
   * where it fits.
   * @param {number | null} idx
   */
  placeTip(idx) {
    const plot = this.plot;
    const left = plot?.cursor.left ?? -1;
    const top = plot?.cursor.top ?? -1;
    if (!plot || idx === null || left < 0) {
      if (!this.tip.hidden) this.tip.hidden = true;
      return;
    }
    const parts = this.readingParts(idx);
    const lines = parts.map(([name, text]) => (name === null ? text : `${name}: ${text}`));
    const texts = [...this.tip.children].map((c) => c.textContent);
    if (texts.length !== lines.length || texts.some((t, i) => t !== lines[i])) {
      this.tip.replaceChildren(...parts.map(([name, text]) => {
        const line = el('div', '');
        if (name === null) {
          line.textContent = text;
          return line;
        }
        // An element of its own with dir=auto isolates the name: a bidi control in it (U+202E)
        // cannot reach the value beside it and turn 12.5 into 5.21, as in a single text it would.
        const label = el('span', '', name);
        label.dir = 'auto';
        line.append(label, `: ${text}`);
        return line;
      }));
    }
    if (this.tip.hidden) this.tip.hidden = false;
    const ow = plot.over.clientWidth;
    const oh = plot.over.clientHeight;
    const tw = this.tip.offsetWidth;
    const th = this.tip.offsetHeight;
    const x = left + 12 + tw <= ow ? left + 12 : Math.max(0, left - 12 - tw);
    const y = Math.max(0, Math.min(top < 0 ? 0 : top + 12, oh - th));
    this.tip.style.transform = `translate(${Math.round(x)}px, ${Math.round(y)}px)`;
  }
}

/**
 * The y scale: a bar chart includes 0; y_min / y_max fix an end; y_scale "log" is base 10.
 * @param {import('../config.js').WidgetConfig} c
 * @param {boolean} bars
 * @returns {uPlot.Scale}
 */
function yScale(c, bars) {
  const log = c.y_scale === 'log';
  if (!bars && !log && c.y_min === null && c.y_max === null) {
    // uPlot's own range (snapNumY), held to a span a double can measure.
    return { range: (_u, min, max) => (min === null || max === null ? [min, max] : fitSpan(/** @type {[number, number]} */ (uPlot.rangeNum(min, max, 0.1, true)), min, max)) };
  }
  return {
    ...(log ? { distr: 3, log: 10 } : {}),
    range: (_u, min, max) => {
      let [lo, hi] = /** @type {[number, number]} */ (log
        ? uPlot.rangeLog(Math.max(min, Number.MIN_VALUE), Math.max(max, Number.MIN_VALUE), 10, true)
        : bars ? uPlot.rangeNum(Math.min(0, min), Math.max(0, max), 0.1, true) : uPlot.rangeNum(min, max, 0.1, true));
      if (c.y_min !== null) lo = c.y_min;
      if (c.y_max !== null) hi = c.y_max;
      if (!(hi > lo)) hi = log ? lo * 10 : lo + 1;
      return log ? [lo, hi] : fitSpan([lo, hi], min, max);
    },
  };
}

/** Half the largest double: two values within ± this are always a finite distance apart. */
const HALF_MAX = Number.MAX_VALUE / 2;

/**
 * A linear y range whose width a double can hold. Data spanning more (-1e308 and 1e308) made it
 * Infinity, and uPlot drew nothing at all, not even the other points: such a chart shows ± half
 * the largest double, the extremes running off its edges.
 * @param {[number, number]} range
 * @param {number} min  the data's
 * @param {number} max
 * @returns {[number, number]}
 */
function fitSpan(range, min, max) {
  if (Number.isFinite(range[1] - range[0])) return range;
  return [Math.max(Math.min(min, range[0]) || -HALF_MAX, -HALF_MAX), Math.min(Math.max(max, range[1]) || HALF_MAX, HALF_MAX)];
}

/**
 * Tick spacings for a linear y axis: uPlot's own (1, 2, 2.5, 5 times a power of ten) end at 5e31,
 * so a chart of values near 1e40 had no y labels at all; these go on to the largest doubles.
 */
const Y_INCRS = (() => {
  const out = [];
  // uPlot rounds each tick to the decimals it reads in the spacing's text: "2.5e+40" reads as
  // five, and rounding to them overflows near the largest doubles, so past uPlot's own only 1, 2, 5.
  for (let e = -32; e <= 307; e++) for (const m of e < 32 ? [1, 2, 2.5, 5] : [1, 2, 5]) out.push(Number(`${m}e${e}`));
  return out.filter(Number.isFinite);
})();

/** @type {HTMLElement | null} */
let probe = null;

/**
 * A CSS system colour (CanvasText, GrayText...) as the canvas can use it.
 * @param {string} name
 */
function systemColor(name) {
  if (!probe) {
    probe = document.createElement('span');
    probe.className = 'sv-color-probe';
    document.body.append(probe);
  }
  probe.style.color = name;
  return getComputedStyle(probe).color;
}
