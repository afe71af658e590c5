// Training progress: a one-line bar redrawn in place on a terminal, plain lines otherwise.
import type { Writable } from 'node:stream';

export interface ProgressInfo {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  imagesPerSecond: number;
  /** Latest mean loss read back from the device (NaN before the first). */
  loss: number;
  lr: number;
  etaSeconds: number;
  /** Fraction of wall time spent waiting for the data loader this epoch. */
  waitFraction: number;
  /** With loss scaling: the steps skipped so far (non-finite gradients) and the scale now. */
  skippedSteps?: number;
  lossScale?: number;
}

export type ProgressMode = 'auto' | 'bar' | 'plain' | 'none';

/**
 * Images per second and seconds per step over the last `steps` steps, for the progress line: its
 * rate and ETA follow the speed now, not an average that keeps one-off costs. The first step of an
 * epoch holds most of them (the first use of each kernel, algorithm searches, the loader filling
 * up): on a GPU a float16 run's first step took 4.4 s and the epoch's average then put the ETA of a
 * 7-second run at 15 minutes. So from the second step on, the window starts at the end of the
 * first; with one step in, it is the time since `start`.
 */
export class RecentRate {
  private times: number[] = [];
  private images: number[] = [];

  constructor(private readonly steps = 20) {
    if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`steps must be a positive integer, got ${steps}`);
  }

  /** Starts a new window at `timeMs` (performance.now()) with `images` counted so far. */
  start(timeMs: number, images = 0): void {
    this.times = [timeMs];
    this.images = [images];
    this.startInWindow = true;
  }

  /** A step finished being queued at `timeMs`, bringing the images counted to `images`. */
  add(timeMs: number, images: number): void {
    this.times.push(timeMs);
    this.images.push(images);
    // The start goes as soon as a second step is in; then the window keeps the last `steps` steps.
    if (this.startInWindow && this.times.length === 3) {
      this.dropOldest();
      this.startInWindow = false;
    }
    if (this.times.length > this.steps + 1) {
      this.dropOldest();
      this.startInWindow = false;
    }
  }

  imagesPerSecond(): number {
    const seconds = this.spanSeconds();
    return seconds > 0 ? (this.images[this.images.length - 1]! - this.images[0]!) / seconds : 0;
  }

  secondsPerStep(): number {
    return this.times.length > 1 ? this.spanSeconds() / (this.times.length - 1) : NaN;
  }

  private startInWindow = true;

  private dropOldest(): void {
    this.times.shift();
    this.images.shift();
  }

  private spanSeconds(): number {
    return this.times.length > 1 ? (this.times[this.times.length - 1]! - this.times[0]!) / 1000 : 0;
  }
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

function fields(p: ProgressInfo): string {
  const loss = Number.isFinite(p.loss) ? p.loss.toFixed(4) : '-';
  const exponent = Math.log2(p.lossScale ?? 1);
  const scale = Number.isInteger(exponent) ? `2^${exponent}` : (p.lossScale ?? 1).toPrecision(3);
  const scaling = p.skippedSteps === undefined ? '' : `scale ${scale}  skipped ${p.skippedSteps}  `;
  return `${Math.round(p.imagesPerSecond)} img/s  loss ${loss}  lr ${p.lr.toPrecision(3)}  ${scaling}` +
    `ETA ${formatDuration(p.etaSeconds)}  data wait ${(100 * p.waitFraction).toFixed(0)}%`;
}

export class Progress {
  readonly mode: 'bar' | 'plain' | 'none';
  private lastPlain = -Infinity;
  private lastDraw = 0;
  private drawn = false;

  constructor(mode: ProgressMode = 'auto', private readonly out: Writable & { isTTY?: boolean; columns?: number } = process.stderr,
    private readonly plainEverySeconds = 10) {
    this.mode = mode === 'auto' ? (out.isTTY ? 'bar' : 'plain') : mode;
  }

  update(p: ProgressInfo, force = false): void {
    if (this.mode === 'bar') {
      const now = performance.now();
      if (!force && now - this.lastDraw < 100 && p.batch < p.batches) return;
      this.lastDraw = now;
      const width = 24;
      const done = Math.round((width * p.batch) / Math.max(p.batches, 1));
      const bar = '='.repeat(Math.max(0, done - 1)) + (done > 0 ? '>' : '') + ' '.repeat(width - done);
      const line = `epoch ${p.epoch + 1}/${p.epochs} [${bar}] ${p.batch}/${p.batches}  ${fields(p)}`;
      const cols = this.out.columns ?? 120;
      this.out.write(`\r${line.slice(0, cols - 1)}\x1b[K`);
      this.drawn = true;
    } else if (this.mode === 'plain') {
      const now = performance.now();
      if (!force && now - this.lastPlain < this.plainEverySeconds * 1000) return;
      this.lastPlain = now;
      this.out.write(`epoch ${p.epoch + 1}/${p.epochs} batch ${p.batch}/${p.batches}  ${fields(p)}\n`);
    }
  }

  /** A line that stays (epoch summaries, checkpoints), printed below the bar. */
  line(text: string): void {
    if (this.mode === 'none') return;
    if (this.drawn) this.out.write('\r\x1b[K');
    this.drawn = false;
    this.out.write(text + '\n');
  }

  end(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}
