// Readers for the float64 PyTorch references the op, network, SGD and PCA suites check against.
//
// Two independent sets, in one layout (manifest.json indexing little-endian row-major tensors in
// one .bin per case):
//  - the project's own, test/references/data (made by test/references/generate.py, committed), which
//    every clone has;
//  - a second set when one is present: $ALEXNET_ORACLE, else ../shared/oracle beside the project (or
//    a copy inside it, shared/oracle or .device/oracle). Its cases have the same names; the suites
//    run once per set.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface ReferenceTensor {
  role: string;
  shape: number[];
  data: Float64Array | Float32Array | Int32Array;
  /** How far torch itself in float32 lands from the float64 value (relative to max |value|). */
  torchF32Rel?: number;
}

export interface ReferenceCase {
  name: string;
  attrs: Record<string, unknown>;
  tensors: Map<string, ReferenceTensor>;
  get(name: string): ReferenceTensor;
  /** The tensor as float32 (inputs are float32-exact, so this is lossless for them). */
  f32(name: string): Float32Array;
}

interface ManifestTensor {
  role: string; dtype: 'f64' | 'f32' | 'i32'; shape: number[]; offset: number; nbytes: number;
  torch_f32_err_rel_to_max_abs?: number;
}
interface ManifestCase { file: string; attrs: Record<string, unknown>; tensors: Record<string, ManifestTensor> }
interface Manifest { format: string; cases: Record<string, ManifestCase> }

const FORMATS = ['alexnet-references-v1', 'alexnet-oracle-v1'];
const here = dirname(fileURLToPath(import.meta.url));
// dist/test/helpers -> the project root is three levels up.
const root = resolve(here, '..', '..', '..');

/** One set of references: where it is, and its cases by name. */
export class ReferenceSet {
  private manifest?: Manifest;
  constructor(readonly label: string, readonly dir: string) {}

  private index(): Manifest {
    if (!this.manifest) {
      const file = join(this.dir, 'data', 'manifest.json');
      const m = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
      if (!FORMATS.includes(m.format)) throw new Error(`${file}: unknown reference format ${m.format}`);
      this.manifest = m;
    }
    return this.manifest;
  }

  has(name: string): boolean {
    return name in this.index().cases;
  }

  /** The names of the cases whose attrs.op is `op`, in manifest order. */
  casesOf(op: string): string[] {
    return Object.entries(this.index().cases).filter(([, c]) => c.attrs.op === op).map(([n]) => n);
  }

  read(name: string): ReferenceCase {
    const entry = this.index().cases[name];
    if (!entry) throw new Error(`${this.label} references have no case ${name}`);
    const bytes = readFileSync(join(this.dir, 'data', entry.file));
    const tensors = new Map<string, ReferenceTensor>();
    for (const [tname, t] of Object.entries(entry.tensors)) {
      const buf = bytes.buffer.slice(bytes.byteOffset + t.offset, bytes.byteOffset + t.offset + t.nbytes);
      const data = t.dtype === 'f64' ? new Float64Array(buf) : t.dtype === 'f32' ? new Float32Array(buf) : new Int32Array(buf);
      tensors.set(tname, { role: t.role, shape: t.shape, data, torchF32Rel: t.torch_f32_err_rel_to_max_abs });
    }
    const label = this.label;
    return {
      name,
      attrs: entry.attrs,
      tensors,
      get(tname: string) {
        const t = tensors.get(tname);
        if (!t) throw new Error(`${label} case ${name} has no tensor ${tname}`);
        return t;
      },
      f32(tname: string) {
        return Float32Array.from(this.get(tname).data);
      },
    };
  }
}

function secondSetDir(): string | undefined {
  if (process.env.ALEXNET_ORACLE) return process.env.ALEXNET_ORACLE;
  for (const candidate of [join(root, '..', 'shared', 'oracle'), join(root, 'shared', 'oracle'), join(root, '.device', 'oracle')])
    if (existsSync(join(candidate, 'data', 'manifest.json'))) return candidate;
  return undefined;
}

let sets: ReferenceSet[] | undefined;

/** The project's references, then the second set where one is present. */
export function referenceSets(): ReferenceSet[] {
  if (!sets) {
    const own = join(root, 'test', 'references');
    if (!existsSync(join(own, 'data', 'manifest.json')))
      throw new Error(`the project's test references are missing (${own}/data): regenerate them with npm run references`);
    sets = [new ReferenceSet('references', own)];
    const second = secondSetDir();
    if (second) sets.push(new ReferenceSet('second oracle', second));
  }
  return sets;
}

/** max |got - want| / max |want| — the metric the references' tolerances use. */
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
