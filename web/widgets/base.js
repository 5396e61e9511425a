// @ts-check
// What every widget element shares: it is handed the widget's current state by `update()` and
// draws it at most once per animation frame, however many events arrive in between (a chart may
// get a thousand a second). A hidden tab gets no frames, so it does no drawing at all.

/** @typedef {import('../state.js').Widget} Widget */

/**
 * @template {Widget} [W=Widget]
 */
export class SvWidget extends HTMLElement {
  constructor() {
    super();
    /** @type {W | null} */
    this.widget = null;
    this.frame = 0;
    this.drawn = false;
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
    if (this.frame || !this.isConnected) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  draw() {
    if (!this.widget || !this.isConnected) return;
    this.drawn = true;
    try {
      this.render(this.widget);
    } catch (err) {
      // One widget's bad data must not stop the others from drawing.
      console.error(`streamviz: drawing ${this.widget.id} failed`, err);
    }
  }

  connectedCallback() {
    this.setup();
    if (this.widget && !this.drawn) this.draw();
    else this.markDirty();
  }

  disconnectedCallback() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
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
