// Argument checks shared by the public API. Every message names the parameter, what was expected
// and what was received.

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map(describe).join(', ')}]`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return String(value);
}

export function integer(value: unknown, name: string, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw new TypeError(`${name} must be an integer, got ${describe(value)}`);
  if (value < min || value > max) {
    const range = max === Infinity ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new RangeError(`${name} must be ${range}, got ${value}`);
  }
  return value;
}

export function positiveInteger(value: unknown, name: string): number {
  return integer(value, name, 1);
}

export function finite(value: unknown, name: string, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new TypeError(`${name} must be a finite number, got ${describe(value)}`);
  if (value < min || value > max)
    throw new RangeError(`${name} must be in [${min}, ${max}], got ${value}`);
  return value;
}

export function seed(value: unknown, name = 'seed'): number {
  return integer(value, name, 0, Number.MAX_SAFE_INTEGER);
}

/** A pair option given as one number or [h, w]. */
export function pair(value: unknown, name: string, min: number): [number, number] {
  if (Array.isArray(value)) {
    if (value.length !== 2) throw new TypeError(`${name} must be a number or [h, w], got ${describe(value)}`);
    return [integer(value[0], `${name}[0]`, min), integer(value[1], `${name}[1]`, min)];
  }
  const v = integer(value, name, min);
  return [v, v];
}

export function shapeEquals(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function shapeString(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function validShape(shape: unknown, name = 'shape'): number[] {
  if (!Array.isArray(shape)) throw new TypeError(`${name} must be an array of positive integers, got ${describe(shape)}`);
  shape.forEach((d, i) => positiveInteger(d, `${name}[${i}]`));
  return shape as number[];
}
