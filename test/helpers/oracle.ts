// Reader for the float64 PyTorch reference data in ../shared/oracle (format "alexnet-oracle-v1":
// data/manifest.json indexes little-endian row-major tensors inside one .bin per case).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface OracleTensor {
  role: string;
  shape: number[];
  data: Float64Array | Int32Array;
  /** How far torch itself in float32 lands from the float64 value (relative to max |value|). */
  torchF32Rel?: number;
}

export interface OracleCase {
  name: string;
  attrs: Record<string, unknown>;
  tensors: Map<string, OracleTensor>;
  get(name: string): OracleTensor;
  /** The tensor as float32 (inputs are float32-exact, so this is lossless for them). */
  f32(name: string): Float32Array;
}

interface ManifestTensor {
  role: string; dtype: 'f64' | 'i32'; shape: number[]; offset: number; nbytes: number;
  torch_f32_err_rel_to_max_abs?: number;
}
interface Manifest { format: string; cases: Record<string, { file: string; attrs: Record<string, unknown>; tensors: Record<string, ManifestTensor> }> }

const here = dirname(fileURLToPath(import.meta.url));

/** The oracle folder: $ALEXNET_ORACLE, else ../shared/oracle beside the project root (or a copy inside it). */
export function oracleDir(): string {
  if (process.env.ALEXNET_ORACLE) return process.env.ALEXNET_ORACLE;
  // dist/test/helpers -> the project root is three levels up. The oracle sits beside the project
  // (../shared/oracle), or inside it where a machine received a copy (shared/ or .device/).
  const root = resolve(here, '..', '..', '..');
  for (const candidate of [join(root, '..', 'shared', 'oracle'), join(root, 'shared', 'oracle'), join(root, '.device', 'oracle')])
    if (existsSync(join(candidate, 'data', 'manifest.json'))) return candidate;
  throw new Error('oracle data not found: set ALEXNET_ORACLE to the folder holding data/manifest.json');
}

let manifest: Manifest | undefined;

export function readOracleCase(name: string): OracleCase {
  const dir = join(oracleDir(), 'data');
  manifest ??= JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  if (manifest.format !== 'alexnet-oracle-v1') throw new Error(`unknown oracle format ${manifest.format}`);
  const entry = manifest.cases[name];
  if (!entry) throw new Error(`oracle case ${name} not in manifest`);
  const bytes = readFileSync(join(dir, entry.file));
  const tensors = new Map<string, OracleTensor>();
  for (const [tname, t] of Object.entries(entry.tensors)) {
    const buf = bytes.buffer.slice(bytes.byteOffset + t.offset, bytes.byteOffset + t.offset + t.nbytes);
    const data = t.dtype === 'f64' ? new Float64Array(buf) : new Int32Array(buf);
    tensors.set(tname, { role: t.role, shape: t.shape, data, torchF32Rel: t.torch_f32_err_rel_to_max_abs });
  }
  return {
    name,
    attrs: entry.attrs,
    tensors,
    get(tname: string) {
      const t = tensors.get(tname);
      if (!t) throw new Error(`oracle case ${name} has no tensor ${tname}`);
      return t;
    },
    f32(tname: string) {
      return Float32Array.from(this.get(tname).data);
    },
  };
}

/** max |got - want| / max |want| — the metric the oracle's tolerances use. */
export function relativeError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) throw new Error(`length ${got.length} != ${want.length}`);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    err = Math.max(err, Math.abs(got[i]! - want[i]!));
    scale = Math.max(scale, Math.abs(want[i]!));
  }
  return scale === 0 ? err : err / scale;
}
