// A line chart panel: axes with round-number ticks, labelled in the bitmap font, and a legend.
import { Canvas, type Colour } from './canvas.js';
import { GLYPH_HEIGHT, textWidth } from './font.js';

export interface Series {
  label: string;
  colour: Colour;
  points: [number, number][];
  /** Dots at the points as well as the line (for sparse, per-epoch values). */
  markers?: boolean;
  /** Line width in pixels (default 2). */
  thickness?: number;
  /** Listed in the legend (default true); false for secondary lines such as single seeds. */
  legend?: boolean;
}

export interface PanelOptions {
  title: string;
  xLabel: string;
  series: Series[];
  /** Tick labels as percentages (values are fractions). */
  percent?: boolean;
  /** Start the y axis at zero. */
  fromZero?: boolean;
}

const INK: Colour = [40, 40, 40];
const GRID: Colour = [225, 225, 225];

/** More ticks than this means the range is beyond what a picture can label. */
const MAX_TICKS = 100;

/**
 * About `count` round tick values (1, 2 or 5 × 10^k apart) covering [lo, hi]. Ticks are counted
 * before they are made, so a range too fine for float64 to step through (1e17 to 1e17 + 32) gives
 * the ticks it can, never a loop that does not advance.
 */
export function ticks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || !(hi > lo)) return Number.isFinite(lo) ? [lo] : [];
  const raw = (hi - lo) / count;
  if (!Number.isFinite(raw) || raw <= 0) return [lo, hi];
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const first = Math.ceil(lo / step) * step;
  const n = Math.floor((hi - first) / step + 1e-9) + 1;
  if (!Number.isFinite(n) || n < 1) return [lo];
  const out: number[] = [];
  for (let k = 0; k < Math.min(n, MAX_TICKS); k++) {
    const v = +(first + k * step).toPrecision(12);
    if (out.at(-1) !== v) out.push(v);
  }
  return out;
}

function label(v: number, step: number, percent: boolean): string {
  const value = percent ? v * 100 : v;
  const s = percent ? step * 100 : step;
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(s) + 1e-9)));
  return value.toFixed(decimals) + (percent ? '%' : '');
}

/** Where a panel in `box` plots (room for the axis labels around it); draws its title above. */
interface Frame { left: number; top: number; right: number; bottom: number; scale: number }
function panelFrame(canvas: Canvas, box: { x: number; y: number; w: number; h: number }, title: string): Frame {
  const scale = 2;
  canvas.text(box.x + (box.w - textWidth(title, scale)) / 2, box.y + 6, title, INK, scale);
  return { left: box.x + 70, top: box.y + 30, right: box.x + box.w - 10, bottom: box.y + box.h - 50, scale };
}

/** Horizontal grid lines at the round values between y0 and y1, labelled on the left. */
function drawYGrid(canvas: Canvas, f: Frame, y0: number, y1: number, sy: (y: number) => number, percent: boolean): void {
  const yt = ticks(y0, y1);
  const ystep = yt.length > 1 ? yt[1]! - yt[0]! : 1;
  for (const v of yt) {
    canvas.line(f.left, sy(v), f.right, sy(v), GRID);
    const s = label(v, ystep, percent);
    canvas.text(f.left - 6 - textWidth(s, f.scale), sy(v) - GLYPH_HEIGHT, s, INK, f.scale);
  }
}

export function drawPanel(canvas: Canvas, box: { x: number; y: number; w: number; h: number }, o: PanelOptions): void {
  const pts = o.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const { left, top, right, bottom, scale } = panelFrame(canvas, box, o.title);
  if (pts.length === 0) {
    canvas.text(left + 10, (top + bottom) / 2, 'no data', INK, scale);
    return;
  }
  // Loops, not Math.min(...): a long metrics file has more points than a call takes arguments.
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const [x, y] of pts) {
    x0 = Math.min(x0, x);
    x1 = Math.max(x1, x);
    y0 = Math.min(y0, y);
    y1 = Math.max(y1, y);
  }
  if (o.fromZero) y0 = Math.min(0, y0);
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) y1 = y0 + (Math.abs(y0) || 1);
  const pad = (y1 - y0) * 0.05;
  if (!o.fromZero || y0 < 0) y0 -= pad;
  y1 += pad;
  const sx = (x: number) => left + ((x - x0) / (x1 - x0)) * (right - left);
  const sy = (y: number) => bottom - ((y - y0) / (y1 - y0)) * (bottom - top);

  drawYGrid(canvas, { left, top, right, bottom, scale }, y0, y1, sy, o.percent ?? false);
  const xt = ticks(x0, x1, 6);
  const xstep = xt.length > 1 ? xt[1]! - xt[0]! : 1;
  for (const v of xt) {
    canvas.line(sx(v), top, sx(v), bottom, GRID);
    canvas.line(sx(v), bottom, sx(v), bottom + 4, INK);
    const s = label(v, xstep, false);
    canvas.text(sx(v) - textWidth(s, scale) / 2, bottom + 8, s, INK, scale);
  }
  canvas.line(left, top, left, bottom, INK, 2);
  canvas.line(left, bottom, right, bottom, INK, 2);
  canvas.text((left + right - textWidth(o.xLabel, scale)) / 2, bottom + 28, o.xLabel, INK, scale);

  let k = 0;
  for (const s of o.series) {
    const ps = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    for (let i = 1; i < ps.length; i++) canvas.line(sx(ps[i - 1]![0]), sy(ps[i - 1]![1]), sx(ps[i]![0]), sy(ps[i]![1]), s.colour, s.thickness ?? 2);
    if (s.markers) for (const [x, y] of ps) canvas.fillRect(sx(x) - 3, sy(y) - 3, 7, 7, s.colour);
    if (s.legend === false) continue;
    // Legend, top right, one row per listed series.
    const ly = top + 8 + k++ * 22;
    const lx = right - textWidth(s.label, scale) - 40;
    canvas.fillRect(lx, ly + 4, 24, 6, s.colour);
    canvas.text(lx + 30, ly, s.label, INK, scale);
  }
}

/** One column of a strip chart: a value per seed and a group of them, drawn as dots and a mean bar. */
export interface Strip {
  label: string;
  /** Groups within the column (e.g. test and train error), each with its colour. */
  groups: { name: string; colour: Colour; values: number[] }[];
}

export interface StripOptions {
  title: string;
  strips: Strip[];
  percent?: boolean;
  fromZero?: boolean;
}

/**
 * A strip chart: per column, each group's values as dots side by side and their mean as a short
 * bar, so the spread over seeds is seen next to the difference between columns.
 */
export function drawStrips(canvas: Canvas, box: { x: number; y: number; w: number; h: number }, o: StripOptions): void {
  const { left, top, right, bottom, scale } = panelFrame(canvas, box, o.title);
  const values = o.strips.flatMap((s) => s.groups.flatMap((g) => g.values)).filter(Number.isFinite);
  if (values.length === 0 || o.strips.length === 0) {
    canvas.text(left + 10, (top + bottom) / 2, 'no data', INK, scale);
    return;
  }
  let y0 = Math.min(...values);
  let y1 = Math.max(...values);
  if (o.fromZero) y0 = Math.min(0, y0);
  if (y1 === y0) y1 = y0 + (Math.abs(y0) || 1);
  const pad = (y1 - y0) * 0.08;
  if (!o.fromZero || y0 < 0) y0 -= pad;
  // Room above the highest dot for the legend.
  y1 += (y1 - y0) * 0.25;
  const sy = (y: number) => bottom - ((y - y0) / (y1 - y0)) * (bottom - top);
  drawYGrid(canvas, { left, top, right, bottom, scale }, y0, y1, sy, o.percent ?? false);
  canvas.line(left, top, left, bottom, INK, 2);
  canvas.line(left, bottom, right, bottom, INK, 2);
  const column = (right - left) / o.strips.length;
  o.strips.forEach((strip, i) => {
    const cx = left + column * (i + 0.5);
    const groupWidth = Math.min(60, column / (strip.groups.length + 1));
    strip.groups.forEach((g, k) => {
      const gx = cx + (k - (strip.groups.length - 1) / 2) * groupWidth;
      const finite = g.values.filter(Number.isFinite);
      finite.forEach((v, j) => {
        // Seeds spread a little sideways so that equal values stay visible.
        const dx = (j - (finite.length - 1) / 2) * 6;
        canvas.fillRect(gx + dx - 3, sy(v) - 3, 7, 7, g.colour);
      });
      if (finite.length > 0) {
        const mean = finite.reduce((a, b) => a + b, 0) / finite.length;
        canvas.line(gx - groupWidth * 0.4, sy(mean), gx + groupWidth * 0.4, sy(mean), g.colour, 3);
      }
    });
    // The column's label, split into lines that fit.
    const words = strip.label.split(' ');
    const lines: string[] = [];
    for (const w of words) {
      const lastLine = lines.at(-1);
      if (lastLine !== undefined && textWidth(`${lastLine} ${w}`, scale) <= column - 8) lines[lines.length - 1] = `${lastLine} ${w}`;
      else lines.push(w);
    }
    lines.slice(0, 2).forEach((line, k) => canvas.text(cx - textWidth(line, scale) / 2, bottom + 8 + k * (GLYPH_HEIGHT * scale + 4), line, INK, scale));
  });
  // Legend, top left: the groups of the first column.
  o.strips[0]!.groups.forEach((g, k) => {
    const ly = top + 8 + k * 22;
    canvas.fillRect(left + 12, ly + 2, 9, 9, g.colour);
    canvas.text(left + 30, ly, g.name, INK, scale);
  });
}
