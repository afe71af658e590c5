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

/** The largest dimension of a shape (and of a padded or cropped size): 2^31 - 1, an int32. */
export const MAX_DIMENSION = 2 ** 31 - 1;
/** The most elements a tensor may have: 2^40 (4 TiB of float32). */
export const MAX_ELEMENTS = 2 ** 40;

export function finite(value: unknown, name: string, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new TypeError(`${name} must be a finite number, got ${describe(value)}`);
  if (value < min || value > max)
    throw new RangeError(`${name} must be in [${min}, ${max}], got ${value}`);
  return value;
}

/** `finite`, for a number the device stores as float32: also a RangeError beyond float32's range. */
export function finiteFloat32(value: unknown, name: string, min = -Infinity, max = Infinity): number {
  return representable(finite(value, name, min, max), name);
}

/**
 * A number that the device stores as float32. NaN and ±Infinity are float32 values and pass (callers
 * that need a finite value use `finite`); a finite number whose float32 rounding is infinite (1e300)
 * is a RangeError, never a silent Infinity.
 */
export function float32(value: unknown, name: string): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${describe(value)}`);
  return representable(value, name);
}

function representable(value: number, name: string): number {
  if (Number.isFinite(value) && !Number.isFinite(Math.fround(value)))
    throw new RangeError(`${name} ${value} is not representable as a float32 (largest finite magnitude ${Math.fround(3.4028234663852886e38)})`);
  return value;
}

export function seed(value: unknown, name = 'seed'): number {
  return integer(value, name, 0, Number.MAX_SAFE_INTEGER);
}

/** A pair option given as one number or [h, w], each in [min, MAX_DIMENSION]. */
export function pair(value: unknown, name: string, min: number): [number, number] {
  if (Array.isArray(value)) {
    if (value.length !== 2) throw new TypeError(`${name} must be a number or [h, w], got ${describe(value)}`);
    return [dimension(value[0], `${name}[0]`, min), dimension(value[1], `${name}[1]`, min)];
  }
  const v = dimension(value, name, min);
  return [v, v];
}

/** An integer size in [min, MAX_DIMENSION] (the message names the bound it breaks). */
export function dimension(value: unknown, name: string, min = 1): number {
  const v = integer(value, name, min);
  if (v > MAX_DIMENSION) throw new RangeError(`${name} must be in [${min}, ${MAX_DIMENSION}], got ${v}`);
  return v;
}

export function shapeEquals(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function shapeString(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** A shape: dimensions in [1, MAX_DIMENSION], at most MAX_ELEMENTS elements in all. */
export function validShape(shape: unknown, name = 'shape'): number[] {
  if (!Array.isArray(shape)) throw new TypeError(`${name} must be an array of positive integers, got ${describe(shape)}`);
  shape.forEach((d, i) => dimension(d, `${name}[${i}]`));
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  if (count > MAX_ELEMENTS)
    throw new RangeError(`${name} ${shapeString(shape as number[])} has ${count} elements, more than the maximum 2^40 (${MAX_ELEMENTS})`);
  return shape as number[];
}
