// @ts-check
// A chart's or gauge's card as a PNG, the way it looks on screen: the card's background, its
// title, the legend (swatches, names, values), and the plot (uPlot's canvas) or the gauge (its
// SVG, with the stylesheet's colours written into it, since an SVG drawn as an image sees no page
// styles), at the device pixel ratio.

/**
 * @param {HTMLElement} card
 * @returns {Promise<Blob>}
 */
export async function cardPNG(card) {
  const dpr = window.devicePixelRatio || 1;
  const box = card.getBoundingClientRect();
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(box.width * dpr);
  canvas.height = Math.round(box.height * dpr);
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
  ctx.scale(dpr, dpr);
  const cs = getComputedStyle(card);
  ctx.fillStyle = cs.backgroundColor;
  ctx.fillRect(0, 0, box.width, box.height);

  for (const sw of card.querySelectorAll('.sv-legend-swatch')) {
    if (scrolledAway(sw)) continue;
    const r = sw.getBoundingClientRect();
    ctx.globalAlpha = alpha(sw);
    ctx.fillStyle = getComputedStyle(sw).backgroundColor;
    ctx.fillRect(r.left - box.left, r.top - box.top, r.width, r.height);
  }
  for (const t of card.querySelectorAll('.sv-card-title, .sv-legend-x, .sv-legend-label, .sv-legend-value')) {
    if (t.textContent && !scrolledAway(t)) text(ctx, /** @type {HTMLElement} */ (t), box);
  }
  ctx.globalAlpha = 1;
  for (const c of card.querySelectorAll('canvas')) {
    const r = c.getBoundingClientRect();
    if (r.width > 0 && r.height > 0) ctx.drawImage(c, r.left - box.left, r.top - box.top, r.width, r.height);
  }
  for (const s of card.querySelectorAll('svg')) {
    const r = s.getBoundingClientRect();
    if (r.width > 0 && r.height > 0) ctx.drawImage(await svgImage(s, r), r.left - box.left, r.top - box.top, r.width, r.height);
  }
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the PNG could not be encoded'))), 'image/png'));
}

/**
 * Whether a legend entry is outside what its legend shows (a long legend scrolls): the PNG is the
 * card as seen.
 * @param {Element} e
 */
function scrolledAway(e) {
  const legend = e.closest('.sv-legend');
  if (!legend) return false;
  const r = e.getBoundingClientRect();
  const l = legend.getBoundingClientRect();
  return r.bottom > l.bottom + 0.5 || r.top < l.top - 0.5;
}

/**
 * The opacity an element shows with (a hidden series' legend entry is faded).
 * @param {Element} e
 */
function alpha(e) {
  let a = 1;
  for (let n = /** @type {Element | null} */ (e); n && n !== document.body; n = n.parentElement) {
    a *= Number(getComputedStyle(n).opacity) || 0;
  }
  return a;
}

/**
 * Text where the element shows it, line by line as it wraps (a long card title does), in its font
 * and colour, cut at its box.
 * @param {CanvasRenderingContext2D} ctx
 * @param {HTMLElement} e
 * @param {DOMRect} box
 */
function text(ctx, e, box) {
  const r = e.getBoundingClientRect();
  if (r.width <= 0 || r.height <= 0) return;
  const s = getComputedStyle(e);
  ctx.save();
  ctx.beginPath();
  ctx.rect(r.left - box.left, r.top - box.top, r.width, r.height);
  ctx.clip();
  ctx.globalAlpha = alpha(e);
  ctx.font = `${s.fontStyle} ${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
  ctx.fillStyle = s.color;
  ctx.textBaseline = 'middle';
  const lines = lineBoxes(e);
  if (lines.length <= 1) {
    ctx.fillText(e.textContent ?? '', r.left - box.left + (parseFloat(s.paddingLeft) || 0), r.top - box.top + r.height / 2);
  } else {
    for (const l of lines) ctx.fillText(l.text, l.left - box.left, l.mid - box.top);
  }
  ctx.restore();
}

/**
 * The lines an element's single text node is laid out in, each with its text and where it starts.
 * @param {HTMLElement} e
 * @returns {{text: string, left: number, mid: number}[]}
 */
function lineBoxes(e) {
  const node = e.firstChild;
  if (!node || node !== e.lastChild || node.nodeType !== Node.TEXT_NODE) return [];
  const str = node.textContent ?? '';
  const range = document.createRange();
  /** @type {{text: string, left: number, mid: number, top: number}[]} */
  const lines = [];
  for (let i = 0; i < str.length; i++) {
    range.setStart(node, i);
    range.setEnd(node, i + 1);
    const b = range.getBoundingClientRect();
    const last = lines[lines.length - 1];
    if (b.width === 0 && b.height === 0) {
      if (last) last.text += str[i];
      continue;
    }
    if (!last || b.top >= last.top + b.height / 2) lines.push({ text: str[i], left: b.left, mid: b.top + b.height / 2, top: b.top });
    else {
      last.text += str[i];
      last.left = Math.min(last.left, b.left);
    }
  }
  return lines;
}

const STYLED = ['fill', 'stroke', 'stroke-width', 'stroke-linecap', 'opacity', 'font-family', 'font-size', 'font-weight'];

/**
 * @param {SVGSVGElement} svg
 * @param {DOMRect} r
 * @returns {Promise<HTMLImageElement>}
 */
function svgImage(svg, r) {
  const copy = /** @type {SVGSVGElement} */ (svg.cloneNode(true));
  const from = [svg, ...svg.querySelectorAll('*')];
  const to = [copy, ...copy.querySelectorAll('*')];
  from.forEach((e, i) => {
    const s = getComputedStyle(e);
    const t = /** @type {SVGElement} */ (to[i]);
    for (const p of STYLED) t.style.setProperty(p, s.getPropertyValue(p));
  });
  copy.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  copy.setAttribute('width', String(r.width));
  copy.setAttribute('height', String(r.height));
  const img = new Image();
  return new Promise((resolve, reject) => {
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error('the gauge could not be drawn'));
    img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(new XMLSerializer().serializeToString(copy))}`;
  });
}
