// Mean, sample standard deviation and range of a few numbers (the seeds of one experiment).
export interface Summary { n: number; mean: number; sd: number; min: number; max: number }

export function summarise(values: number[]): Summary | null {
  if (values.length === 0) return null;
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  const round = (v: number) => +v.toPrecision(6);
  return { n, mean: round(mean), sd: round(sd), min: Math.min(...values), max: Math.max(...values) };
}
