// The safetensors format (as Python's `safetensors` package reads it): an 8-byte little-endian
// header length, a JSON header { name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__":
// { string: string } }, then the tensors' bytes back to back, little-endian, in header order.
// Written: F32 and F64, and F16 on request (HostTensor.saveAs, rounded to nearest even). Read: also
// F16 and BF16 (as PyTorch writes half-precision weights), widened to float32 exactly, and I64 (as
// PyTorch writes counters), as float64 holding the exact integers.
import { endianness } from 'node:os';
import { AlexNetError } from '../errors.js';
import { describe } from '../validate.js';

/** The element types read from a file; see DTYPES for what each becomes in memory. */
export type SafetensorsDtype = 'F32' | 'F64' | 'F16' | 'BF16' | 'I64';

/** Host data of a tensor: float32 (weights, momentum) or float64 (e.g. data-set statistics). */
export interface HostTensor {
  data: Float32Array | Float64Array;
  shape: number[];
  /** The element type in the file it was read from (absent for tensors made in memory). */
  dtype?: SafetensorsDtype;
  /**
   * How encodeSafetensors stores float32 data: 'F32' (the default) or 'F16' (IEEE half, rounded
   * to nearest even; beyond ±65504 it becomes ±Infinity). Read files never set it, so a tensor
   * loaded from an F16 file is written back as F32 unless asked.
   */
  saveAs?: 'F32' | 'F16';
}

export interface SafetensorsContents {
  tensors: Record<string, HostTensor>;
  metadata: Record<string, string>;
}

const LITTLE = endianness() === 'LE';

/** The little-endian bytes of `data` (a copy only on big-endian hosts). */
function bytesOf(data: Float32Array | Float64Array): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (LITTLE) return bytes;
  const width = data.BYTES_PER_ELEMENT;
  const swapped = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += width)
    for (let j = 0; j < width; j++) swapped[i + j] = bytes[i + width - 1 - j]!;
  return swapped;
}

/**
 * Each dtype read: its bytes per element and the array it becomes. F16 and BF16 widen to float32
 * exactly (every half and bfloat16 value is a float32 value); I64 becomes float64, refused beyond
 * ±(2^53 − 1), where float64 would no longer hold the integer exactly.
 */
const DTYPES: Record<SafetensorsDtype, { bytes: number; Type: Float32ArrayConstructor | Float64ArrayConstructor }> = {
  F32: { bytes: 4, Type: Float32Array },
  F64: { bytes: 8, Type: Float64Array },
  F16: { bytes: 2, Type: Float32Array },
  BF16: { bytes: 2, Type: Float32Array },
  I64: { bytes: 8, Type: Float64Array },
};

/** An IEEE 754 half (1 sign, 5 exponent, 10 fraction bits) as a number. */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;  // zero and subnormals
  if (exponent === 31) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

const FLOAT_BITS = new Uint32Array(1);
const FLOAT_VIEW = new Float32Array(FLOAT_BITS.buffer);

// Rounds `value` to nearest even after dropping its low `dropped` bits.
function shiftRoundEven(value: number, dropped: number): number {
  const kept = value >>> dropped;
  const rest = value & ((1 << dropped) - 1);
  const half = 1 << (dropped - 1);
  return kept + (rest > half || (rest === half && (kept & 1) === 1) ? 1 : 0);
}

/**
 * A float32 value's IEEE half bits, rounded to nearest even (subnormals included); from 65520 up
 * ±Infinity, NaN a quiet NaN. The same integer steps as the native core's (alexnet/float16.hpp),
 * so a file written here holds the bits a float16 tensor of the same values holds.
 */
export function halfBitsFromNumber(x: number): number {
  FLOAT_VIEW[0] = x;
  const u = FLOAT_BITS[0]!;
  const sign = (u >>> 16) & 0x8000;
  const a = u & 0x7fffffff;
  if (a > 0x7f800000) return sign | 0x7e00;
  if (a >= 0x477ff000) return sign | 0x7c00;
  const exponent = a >>> 23;
  const mantissa = a & 0x7fffff;
  if (exponent < 113) return exponent < 102 ? sign : sign | shiftRoundEven(mantissa | 0x800000, 126 - exponent);
  return sign | shiftRoundEven(((exponent - 112) << 23) | mantissa, 13);
}

/**
 * The values of one tensor's little-endian bytes as `dtype`; `bad` reports what cannot be held
 * (an I64 value beyond float64's exact integers).
 */
function decodeValues(bytes: Uint8Array, dtype: SafetensorsDtype, count: number, bad: (why: string) => never): Float32Array | Float64Array {
  if (LITTLE && (dtype === 'F32' || dtype === 'F64')) {
    // The file's bytes are the array's: one copy (aligned, and not aliasing the file buffer).
    const out = new DTYPES[dtype].Type(count);
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    }
    case 'F64': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    }
    case 'F16': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToNumber(view.getUint16(2 * i, true));
      return out;
    }
    case 'BF16': {
      // bfloat16 is the upper half of a float32: shift its bits into place.
      const out = new Float32Array(count);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return out;
    }
    case 'I64': {
      const out = new Float64Array(count);
      const limit = BigInt(Number.MAX_SAFE_INTEGER);
      for (let i = 0; i < count; i++) {
        const v = view.getBigInt64(8 * i, true);
        if (v > limit || v < -limit) bad(`its value ${v} at index ${i} is beyond ±(2^53 - 1), which float64 cannot hold exactly`);
        out[i] = Number(v);
      }
      return out;
    }
  }
}

function storedBytes(t: HostTensor): number {
  return t.saveAs === 'F16' ? 2 * t.data.length : t.data.byteLength;
}

/** Serialises float32/float64 tensors (in the order given; float32 as F16 where saveAs says) and string metadata. */
export function encodeSafetensors(tensors: Record<string, HostTensor>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata))
      if (typeof v !== 'string') throw new TypeError(`metadata['${k}'] must be a string, got ${describe(v)}`);
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === '__metadata__') throw new RangeError('a tensor cannot be called __metadata__');
    if (!(t.data instanceof Float32Array) && !(t.data instanceof Float64Array))
      throw new TypeError(`tensors['${name}'].data must be a Float32Array or a Float64Array, got ${describe(t.data)}`);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new RangeError(`tensors['${name}'] has ${t.data.length} values but shape [${t.shape.join(', ')}]`);
    if (t.saveAs !== undefined && t.saveAs !== 'F32' && t.saveAs !== 'F16')
      throw new TypeError(`tensors['${name}'].saveAs must be 'F32' or 'F16', got ${describe(t.saveAs)}`);
    if (t.saveAs === 'F16' && !(t.data instanceof Float32Array))
      throw new TypeError(`tensors['${name}'].saveAs 'F16' needs Float32Array data, got ${describe(t.data)}`);
    const dtype = t.saveAs === 'F16' ? 'F16' : t.data instanceof Float32Array ? 'F32' : 'F64';
    const bytes = storedBytes(t);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  // Pad the header with spaces to a multiple of 8 so the data starts aligned (as the reference writer does).
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let at = 8 + headerBytes.length;
  for (const t of Object.values(tensors)) {
    if (t.saveAs === 'F16') {
      for (let i = 0; i < t.data.length; i++) out.writeUInt16LE(halfBitsFromNumber(t.data[i]!), at + 2 * i);
    } else {
      out.set(bytesOf(t.data), at);
    }
    at += storedBytes(t);
  }
  return out;
}

/** Parses a safetensors file's bytes; `file` names it in errors (AlexNetError BAD_FILE). */
export function decodeSafetensors(bytes: Uint8Array, file: string): SafetensorsContents {
  const bad = (why: string): never => {
    throw new AlexNetError(`${file} is not a valid safetensors file: ${why}`, 'BAD_FILE', '',
      'the file may be truncated or corrupt; use another checkpoint (e.g. best instead of last)');
  };
  if (bytes.length < 8) bad(`it has ${bytes.length} bytes, fewer than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.length - 8) bad(`the header length ${headerLength} exceeds the file size ${bytes.length}`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, headerLength).toString('utf8'));
  } catch (e) {
    return bad(`the header is not JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) bad('the header is not a JSON object');
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const tensors: Record<string, HostTensor> = {};
  const ranges: { name: string; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (typeof entry !== 'object' || entry === null) bad('__metadata__ is not an object');
      for (const [k, v] of Object.entries(entry as object)) {
        if (typeof v !== 'string') bad(`__metadata__['${k}'] is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e?.dtype !== 'string' || !Object.hasOwn(DTYPES, e.dtype))
      bad(`tensor '${name}' has dtype ${describe(e?.dtype)}; supported: ${Object.keys(DTYPES).join(', ')}`);
    const dtype = e.dtype as SafetensorsDtype;
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) bad(`tensor '${name}' has a bad shape`);
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isInteger(o)))
      bad(`tensor '${name}' has bad data_offsets`);
    const [begin, end] = offsets as [number, number];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (begin < 0 || end > dataLength || end - begin !== count * DTYPES[dtype].bytes)
      bad(`tensor '${name}' [${(shape as number[]).join(', ')}] has data_offsets [${begin}, ${end}] outside the ${dataLength} data bytes or of the wrong size`);
    ranges.push({ name, begin, end });
    // Decoded into a new array: the result must not alias the file buffer, and is in host order.
    const data = decodeValues(bytes.subarray(dataStart + begin, dataStart + end), dtype, count,
      (why) => bad(`tensor '${name}' (${dtype}): ${why}`));
    tensors[name] = { data, shape: shape as number[], dtype };
  }
  // Each data byte belongs to exactly one tensor: no two ranges overlap (tensors sharing bytes
  // would be read as two values from one), and together they leave no gap.
  ranges.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let last: (typeof ranges)[number] | undefined;  // the non-empty range reaching furthest so far
  for (const r of ranges) {
    if (r.end === r.begin) continue;  // holds no bytes
    if (last && r.begin < last.end)
      bad(`tensor '${r.name}' (bytes ${r.begin} to ${r.end}) overlaps tensor '${last.name}' (bytes ${last.begin} to ${last.end})`);
    covered += r.end - r.begin;
    last = r;
  }
  if (covered !== dataLength) bad(`the tensors cover ${covered} of ${dataLength} data bytes`);
  return { tensors, metadata };
}
