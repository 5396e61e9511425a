// @ts-check
// What every widget element shares: it is handed the widget's current state by `update()` and
// draws it at most once per animation frame, however many events arrive in between (a chart may
// get a thousand a second). All widgets draw from one shared frame callback with a time budget, and
// only while in view. A hidden tab gets no frames, so it does no drawing at all.

/** @typedef {import('../state.js').Widget} Widget */

/**
 * Time the widgets' drawing may take in one frame. Data for many widgets tends to arrive in the
 * same socket message, so their redraws would all land in one frame and make it long; past this
 * budget the rest wait for the next frame, where they go first, so none is starved. Each widget
 * still draws at most once per frame.
 */
const FRAME_BUDGET_MS = 6;

/**
 * Widgets waiting to draw, in the order they asked.
 * @type {Set<SvWidget<any>>}
 */
const queue = new Set();
let frameId = 0;

function requestFrame() {
  if (!frameId) frameId = requestAnimationFrame(runFrame);
}

function runFrame() {
  frameId = 0;
  const batch = [...queue];
  queue.clear();
  const start = performance.now();
  let i = 0;
  while (i < batch.length) {
    batch[i++].draw();
    if (performance.now() - start > FRAME_BUDGET_MS) break;
  }
  if (i < batch.length) {
    // The ones left over go first next frame, ahead of any that asked during this one.
    const later = [...queue];
    queue.clear();
    for (const w of batch.slice(i)) queue.add(w);
    for (const w of later) queue.add(w);
  }
  if (queue.size) requestFrame();
}

/**
 * @template {Widget} [W=Widget]
 */
export class SvWidget extends HTMLElement {
  constructor() {
    super();
    /** @type {W | null} */
    this.widget = null;
    this.drawn = false;
    /** Has state it has not drawn yet. */
    this.dirty = false;
    /** Within (or near) the viewport; until the observer first reports, assume it is. */
    this.visible = true;
    /** @type {IntersectionObserver | null} */
    this.io = null;
  }

  /**
   * Hands the element the widget's latest config and state. The first call draws at once, so
   * the page is complete when it reports ready; later calls coalesce into the next frame.
   * @param {W} widget
   */
  update(widget) {
    this.widget = widget;
    if (!this.drawn && this.isConnected) this.draw();
    else this.markDirty();
  }

  markDirty() {
    this.dirty = true;
    // A widget scrolled out of view draws nothing until it comes back: nobody could see it, and
    // a dashboard is often taller than the window.
    if (this.isConnected && this.visible) {
      queue.add(this);
      requestFrame();
    }
  }

  draw() {
    queue.delete(this);
    if (!this.widget || !this.isConnected) return;
    this.drawn = true;
    this.dirty = false;
    try {
      this.render(this.widget);
    } catch (err) {
      // One widget's bad data must not stop the others from drawing.
      console.error(`streamviz: drawing ${this.widget.id} failed`, err);
    }
  }

  connectedCallback() {
    this.io = new IntersectionObserver((entries) => {
      this.visible = entries[entries.length - 1].isIntersecting;
      if (this.visible && this.dirty) this.markDirty();
    }, { rootMargin: '200px' });
    this.io.observe(this);
    this.setup();
    if (this.widget && !this.drawn) this.draw();
    else this.markDirty();
  }

  disconnectedCallback() {
    queue.delete(this);
    this.io?.disconnect();
    this.io = null;
    this.visible = true;
    this.teardown();
  }

  /** Creates what teardown() releases; runs on every (re)connection. */
  setup() {}

  /** Releases observers, timers and drawing resources. */
  teardown() {}

  /**
   * @param {W} _widget
   */
  render(_widget) {}
}

/**
 * Creates an element with a class and optional text; text is always set as text, since ids,
 * titles, units and cells come from anyone who can publish.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} [className]
 * @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/**
 * Sets text only when it changed, so unchanged widgets cost no layout.
 * @param {Element} node
 * @param {string} text
 */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}
