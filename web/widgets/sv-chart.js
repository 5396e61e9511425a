// @ts-check
// <sv-chart>: live time series drawn by uPlot (canvas, so tens of thousands of points stay
// cheap). The plot is rebuilt only when its shape changes (series set, chart type, axis kind,
// colours); otherwise each frame hands uPlot fresh columns.

import uPlot from '../vendor/uplot/uPlot.esm.js';
import { buildChartData } from '../chart-data.js';
import { formatDefault, formatValue } from '../format.js';
import { SvWidget, el, setText } from './base.js';

/** @typedef {import('../state.js').ChartWidget} ChartWidget */
/** @typedef {import('../series.js').Series} Series */
/** @typedef {{item: HTMLElement, value: HTMLElement}} LegendView */

const FALLBACK = { width: 300, height: 150 };

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
    this.empty = el('div', 'sv-empty', 'waiting for data');
    this.plotBox.append(this.empty);
    /** @type {uPlot | null} */
    this.plot = null;
    this.shape = '';
    /** @type {Series[]} */
    this.list = [];
    /** @type {LegendView[]} */
    this.legendViews = [];
    /** The user zoomed in by dragging: live data must not snap the view back until a double-click. */
    this.zoomed = false;
    /** @type {{width: number, height: number} | null} */
    this.pendingSize = null;
    /** @type {ResizeObserver | null} */
    this.ro = null;
  }

  setup() {
    if (!this.firstChild) this.append(this.legend, this.plotBox);
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
    this.ro?.disconnect();
    this.ro = null;
    this.plot?.destroy();
    this.plot = null;
    this.shape = '';
  }

  /** @param {ChartWidget} w */
  render(w) {
    const all = [...w.state.series.values()];
    // The default series leads, the named ones follow by name, as snapshots list them: arrival
    // order would give a series another colour after every reload.
    const named = all.filter((s) => s.name !== '').sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    this.list = [...all.filter((s) => s.name === ''), ...named];
    const cd = buildChartData(this.list);
    this.dataset.points = String(cd.points);
    const last = w.state.lastSeries === null ? undefined : w.state.series.get(w.state.lastSeries)?.lastY();
    if (last === undefined) this.removeAttribute('data-last-y');
    else this.dataset.lastY = String(last);
    this.empty.hidden = cd.points > 0;

    const c = w.config;
    const shape = JSON.stringify([c.chart_type, c.color, cd.time, this.list.map((s) => s.name)]);
    if (!this.plot || shape !== this.shape) {
      this.plot?.destroy();
      this.shape = shape;
      this.zoomed = false;
      this.create(w, cd.time, cd.data);
      this.buildLegend(w);
    } else {
      const plot = this.plot;
      plot.batch(() => {
        if (this.pendingSize) plot.setSize(this.pendingSize);
        plot.setData(cd.data, !this.zoomed);
      });
    }
    this.pendingSize = null;
    this.updateLegend();
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
    const axis = cs.getPropertyValue('--sv-chart-axis').trim() || '#8a94a6';
    const grid = cs.getPropertyValue('--sv-chart-grid').trim() || 'rgba(255,255,255,0.07)';
    const font = `11px ${cs.fontFamily || 'system-ui, sans-serif'}`;
    const rect = this.plotBox.getBoundingClientRect();
    const size = this.pendingSize ?? (rect.width > 0 && rect.height > 0
      ? { width: Math.floor(rect.width), height: Math.floor(rect.height) }
      : FALLBACK);
    const type = w.config.chart_type;
    const bars = type === 'bar' && uPlot.paths?.bars ? uPlot.paths.bars({ size: [0.6, 64] }) : undefined;
    const series = this.list.map((s, i) => {
      const color = this.colorOf(w, i);
      /** @type {uPlot.Series} */
      const o = { label: s.name || 'value', stroke: color, width: 1.5 };
      if (type === 'area') o.fill = withAlpha(color, 0.18);
      if (type === 'bar') Object.assign(o, { fill: withAlpha(color, 0.55), paths: bars, points: { show: false } });
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
      cursor: { drag: { x: true, y: false } },
      scales: {
        x: type === 'bar' || type === 'scatter'
          // Bars and dots are centred on their x: without half a step of room the end ones are cut.
          ? { time, range: (u, min, max) => {
            const n = u.data[0].length;
            const pad = n > 1 ? (max - min) / (n - 1) / 2 : 1;
            return [min - pad, max + pad];
          } }
          : { time },
        // Bars measure from zero; a y axis that starts elsewhere would misstate their ratios.
        y: type === 'bar' ? { range: (_u, min, max) => uPlot.rangeNum(Math.min(0, min), Math.max(0, max), 0.1, true) } : {},
      },
      series: [{}, ...series],
      axes: [
        time ? axisOpts : { ...axisOpts, values: (_u, t) => t.map((v) => formatDefault(v)) },
        {
          ...axisOpts,
          values: (_u, t) => t.map((v) => this.tick(v)),
          // Wide enough for the longest tick label, so large numbers are not clipped.
          size: (_u, vals) => (vals ? Math.ceil(Math.max(3, ...vals.map((v) => v.length)) * 6.5) + 14 : 40),
        },
      ],
      hooks: {
        setSelect: [(u) => {
          if (u.select.width > 2) this.zoomed = true;
        }],
        setCursor: [() => this.updateLegend()],
      },
    };
    const plot = new uPlot(opts, data, this.plotBox);
    this.plot = plot;
    plot.over.addEventListener('dblclick', () => {
      this.zoomed = false;
      this.markDirty();
    });
  }

  /** @param {number} v */
  tick(v) {
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
      item.append(sw, el('span', 'sv-legend-label', s.name || 'value'), value);
      item.addEventListener('click', () => {
        if (!this.plot) return;
        const idx = i + 1;
        const show = !this.plot.series[idx].show;
        this.plot.setSeries(idx, { show });
        item.classList.toggle('sv-off', !show);
      });
      return { item, value };
    });
    this.legend.replaceChildren(this.legendX, ...this.legendViews.map((v) => v.item));
  }

  /** Shows the values under the cursor, or the latest ones when it is away. */
  updateLegend() {
    const w = this.widget;
    const plot = this.plot;
    if (!w || !plot) return;
    const { unit, format } = w.config;
    const idx = plot.cursor.idx;
    const hover = idx !== null && idx !== undefined && idx < plot.data[0].length ? idx : null;
    const x = hover === null ? null : plot.data[0][hover];
    setText(this.legendX, x === null ? '' : plot.scales.x.time ? new Date(x * 1000).toLocaleString() : formatDefault(x));
    this.list.forEach((s, i) => {
      const view = this.legendViews[i];
      if (!view) return;
      const y = hover === null ? s.lastY() : plot.data[i + 1][hover];
      const text = y === undefined ? '' : formatValue(y, format) + (unit && y !== null ? ` ${unit}` : '');
      setText(view.value, text);
    });
  }
}
