// Metrics as JSON lines (one object per line), appended as they come; `alexnet plot` reads them.
import { appendFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { AlexNetError } from '../errors.js';

/** A metrics file larger than this is not one a run wrote (a long run writes a few MB). */
export const MAX_METRICS_BYTES = 256 * 1024 * 1024;

export type MetricsRecord = { type: 'step' | 'epoch' | 'start' | 'end' | 'interrupted'; time: string } & Record<string, unknown>;

export class MetricsLog {
  constructor(readonly path: string) {}

  write(type: MetricsRecord['type'], fields: Record<string, unknown>): void {
    // Synchronous: a line is small, and on SIGINT nothing is lost in a buffer.
    appendFileSync(this.path, JSON.stringify({ type, time: new Date().toISOString(), ...fields }) + '\n');
  }
}

/**
 * Reads a metrics file, skipping a torn last line (a run killed mid-write). Only a regular file of
 * at most MAX_METRICS_BYTES is read (a device or a FIFO would never end); anything else is a
 * BAD_FILE naming the path.
 */
export function readMetrics(path: string): MetricsRecord[] {
  if (!existsSync(path)) return [];
  const stat = statSync(path);
  if (!stat.isFile()) throw new AlexNetError(`${path} is not a regular file; a metrics file is JSON lines written by alexnet train`, 'BAD_FILE');
  if (stat.size > MAX_METRICS_BYTES)
    throw new AlexNetError(`${path} has ${stat.size} bytes, more than the ${MAX_METRICS_BYTES} a metrics file may have`, 'BAD_FILE');
  const out: MetricsRecord[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // ignore a partial line
    }
  }
  return out;
}
