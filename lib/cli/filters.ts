// `alexnet filters`: the conv1 kernels of a checkpoint as a picture, grouped by column as in the
// paper's Figure 3, with a colour statistic per column. The paper observed that one GPU's kernels
// came out largely colour-agnostic and the other's colour-specific; the mean chroma tells which.
import { writeFileSync } from 'node:fs';
import { AlexNetError } from '../errors.js';
import { checkpointPath, loadCheckpoint } from '../io/checkpoint.js';
import { intFlag, parse, usage } from './args.js';
import { Canvas, type Colour } from './canvas.js';

export const filtersHelp = `Usage: alexnet filters CHECKPOINT [--out FILE.png] [--scale N] [--per-row N]

Draws conv1's kernels (each scaled to the full intensity range on its own, as in the paper's
Figure 3), the first column's half on top and the second column's below, and prints each column's
mean chroma: max(R,G,B) - min(R,G,B) of the scaled kernels, averaged over pixels and kernels
(0 = grey, colour-agnostic kernels). CHECKPOINT is a .safetensors file or a run directory.
The picture goes to --out (default filters.png beside the checkpoint).`;

export interface FilterStats { columns: { kernels: number; meanChroma: number }[]; channels: number; kernel: number }

/** The PNG of `weight` [O, C, K, K] and its per-column statistics. */
export function renderFilters(weight: Float32Array, shape: number[], scale = 4, perRow = 8): { png: Buffer; stats: FilterStats } {
  const [o, c, kh, kw] = shape as [number, number, number, number];
  if (shape.length !== 4 || (c !== 1 && c !== 3)) throw new RangeError(`conv1.weight must be [O, 1 or 3, K, K], got [${shape.join(', ')}]`);
  const columns = o % 2 === 0 ? 2 : 1;
  const perColumn = o / columns;
  const rowsPerColumn = Math.ceil(perColumn / perRow);
  const cell = kw * scale + 2;
  const gap = 14;
  const canvas = new Canvas(perRow * cell + 2, columns * (rowsPerColumn * (kh * scale + 2) + gap) + 2, [24, 24, 24]);
  const stats: FilterStats = { columns: [], channels: c, kernel: kh };
  for (let col = 0; col < columns; col++) {
    const top = col * (rowsPerColumn * (kh * scale + 2) + gap) + gap;
    canvas.text(2, top - 11, `column ${col}`, [220, 220, 220]);
    let chroma = 0;
    for (let i = 0; i < perColumn; i++) {
      const k = col * perColumn + i;
      const base = k * c * kh * kw;
      const values = weight.subarray(base, base + c * kh * kw);
      let lo = Infinity, hi = -Infinity;
      for (const v of values) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
      const range = hi - lo || 1;
      const x0 = (i % perRow) * cell + 2, y0 = top + Math.floor(i / perRow) * (kh * scale + 2);
      let kernelChroma = 0;
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++) {
          const rgb = [0, 1, 2].map((ch) => (values[(c === 3 ? ch : 0) * kh * kw + y * kw + x]! - lo) / range);
          kernelChroma += Math.max(...rgb) - Math.min(...rgb);
          canvas.fillRect(x0 + x * scale, y0 + y * scale, scale, scale, rgb.map((v) => Math.round(255 * v)) as Colour);
        }
      chroma += kernelChroma / (kh * kw);
    }
    stats.columns.push({ kernels: perColumn, meanChroma: chroma / perColumn });
  }
  return { png: canvas.toPng(), stats };
}

export async function filtersCommand(argv: string[]): Promise<number> {
  const c = 'filters';
  const { values: v, positionals } = parse(c, argv, { out: { type: 'string', short: 'o' }, scale: { type: 'string' }, 'per-row': { type: 'string' } }, true);
  if (v.help) {
    console.log(filtersHelp);
    return 0;
  }
  if (positionals.length !== 1) usage(c, 'give one checkpoint (.safetensors) or run directory');
  const file = checkpointPath(positionals[0]!, 'best');
  const ckpt = await loadCheckpoint(file);
  const w = ckpt.weights['conv1.weight'];
  if (!w || !(w.data instanceof Float32Array)) throw new AlexNetError(`${file} has no float32 conv1.weight`, 'BAD_FILE');
  const { png, stats } = renderFilters(w.data, w.shape, intFlag(c, 'scale', v.scale, 1) ?? 4, intFlag(c, 'per-row', v['per-row'], 1) ?? 8);
  const out = typeof v.out === 'string' ? v.out : file.replace(/\.safetensors$/, '') + '-filters.png';
  writeFileSync(out, png);
  console.log(out);
  stats.columns.forEach((col, i) =>
    console.log(`column ${i}: ${col.kernels} kernels ${stats.kernel}x${stats.kernel}x${stats.channels}, mean chroma ${stats.channels === 3 ? col.meanChroma.toFixed(3) : 'n/a (grey input)'}`));
  return 0;
}
