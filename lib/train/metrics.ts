// Metrics as JSON lines (one object per line), appended as they come; `alexnet plot` reads them.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';

export type MetricsRecord = { type: 'step' | 'epoch' | 'start' | 'end' | 'interrupted'; time: string } & Record<string, unknown>;

export class MetricsLog {
  constructor(readonly path: string) {}

  write(type: MetricsRecord['type'], fields: Record<string, unknown>): void {
    // Synchronous: a line is small, and on SIGINT nothing is lost in a buffer.
    appendFileSync(this.path, JSON.stringify({ type, time: new Date().toISOString(), ...fields }) + '\n');
  }
}

/** Reads a metrics file, skipping a torn last line (a run killed mid-write). */
export function readMetrics(path: string): MetricsRecord[] {
  if (!existsSync(path)) return [];
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
