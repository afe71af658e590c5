// Mutated checkpoints (safetensors: an 8-byte header length, a JSON header, the tensor bytes), each
// loaded as a model and run once.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tensor, loadModel } from '../../../lib/index.js';
import { baseInputs } from '../base.js';
import { specialFile } from '../files.js';
import { mutateBlindly } from '../mutate.js';
import type { Rng } from '../prng.js';
import type { CaseContext, Category } from '../types.js';

type Header = Record<string, unknown>;

function split(bytes: Buffer): { header: Header; data: Buffer } {
  const length = Number(bytes.readBigUInt64LE(0));
  return { header: JSON.parse(bytes.subarray(8, 8 + length).toString('utf8')), data: bytes.subarray(8 + length) };
}

function join8(header: Header, data: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, data]);
}

// Values that sit on or beyond every bound a shape or an offset is checked against.
const ABSURD_NUMBERS = [0, 1, -1, 3, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 32 + 1, 2 ** 53, 2 ** 63, 2 ** 64, 1e300, 0.5, 65536, 6148914691236517888];
const ABSURD_VALUES: unknown[] = [...ABSURD_NUMBERS, null, 'x', '3', true, [], {}, [1]];

function absurdShape(rng: Rng, shape: number[]): unknown {
  return rng.weighted<() => unknown>([
    [3, () => shape.map((d) => (rng.chance(0.4) ? rng.pick(ABSURD_VALUES) : d))],
    [2, () => [65536, 65536, 65536, 65536]],               // 2^64 elements: wraps to 0 in 64 bits
    [2, () => [3, 6148914691236517888]],                    // 3 · (2^64 / 3 rounded): wraps
    [1, () => [...shape, rng.pick([0, 1, 2])]],
    [1, () => shape.slice(1)],
    [1, () => []],
    [1, () => rng.pick(ABSURD_VALUES)],
    [1, () => Array.from({ length: rng.int(5, 40) }, () => 1)],
  ])();
}

function tensorNames(header: Header): string[] {
  return Object.keys(header).filter((k) => k !== '__metadata__');
}

function editHeader(rng: Rng, header: Header, dataLength: number, note: (s: string) => void): void {
  const names = tensorNames(header);
  const name = rng.pick(names);
  const entry = header[name] as { dtype: unknown; shape: number[]; data_offsets: number[] };
  const what = rng.pick(['dtype', 'shape', 'offsets', 'overlap', 'remove', 'rename', 'not-object', 'extra'] as const);
  note(`header edit: ${what} of '${name}'`);
  switch (what) {
    case 'dtype': entry.dtype = rng.pick(['F64', 'F16', 'BF16', 'I32', 'U8', 'BOOL', 'f32', '', 7, null]); break;
    case 'shape': entry.shape = absurdShape(rng, entry.shape) as number[]; break;
    case 'offsets': {
      const [b, e] = entry.data_offsets as [number, number];
      entry.data_offsets = rng.weighted<() => number[]>([
        [2, () => [e, b]],
        [2, () => [b, rng.pick([e + 4, e - 4, dataLength + 4, 2 ** 53, 2 ** 64])]],
        [2, () => [rng.pick([-4, -(2 ** 53), b + 2, 0.5]), e]],
        [1, () => [b]],
        [1, () => [b, e, e]],
        [1, () => ['0', String(e)] as unknown as number[]],
      ])();
      break;
    }
    case 'overlap': {
      // Two tensors over the same bytes (same size, so the sizes still add up or not).
      const other = header[rng.pick(names)] as { data_offsets: number[] };
      entry.data_offsets = [...other.data_offsets];
      break;
    }
    case 'remove': delete header[name]; break;
    case 'rename': header[`${name}${rng.pick(['.extra', 'x', ''])}`] = entry; delete header[name]; header[rng.pick(['', ' ', 'fc9.weight', '__proto__'])] = entry; break;
    case 'not-object': header[name] = rng.pick([null, 1, 'F32', [], [entry]]); break;
    case 'extra': header[rng.pick(['fc9.weight', 'momentum.x', 'data.mean_image'])] = { dtype: 'F32', shape: absurdShape(rng, [2, 2]), data_offsets: [0, 16] }; break;
  }
}

function editMetadata(rng: Rng, header: Header, modelConfig: Record<string, unknown>, note: (s: string) => void): void {
  const meta = (header.__metadata__ ?? {}) as Record<string, unknown>;
  const what = rng.weighted([[1, 'format'], [1, 'state-json'], [2, 'state-field'], [1, 'not-strings'], [1, 'remove']] as const);
  note(`metadata edit: ${what}`);
  switch (what) {
    case 'format': meta.format = rng.pick(['', 'alexnet-checkpoint-v2', 'x'.repeat(10000)]); break;
    case 'state-json': meta['alexnet.state'] = rng.pick(['', '{', 'null', '[]', '1', '{"format":"alexnet-checkpoint-v1"}']); break;
    case 'state-field': {
      const state = JSON.parse(String(meta['alexnet.state'])) as Record<string, unknown>;
      const field = rng.pick(['epoch', 'batch', 'step', 'lr', 'schedule', 'model', 'training', 'seed', 'format']);
      state[field] = rng.pick([...ABSURD_VALUES, -1e17, 1e17, { ...modelConfig, numClasses: 1 }]);
      note(`state.${field} = ${JSON.stringify(state[field])}`);
      meta['alexnet.state'] = JSON.stringify(state);
      break;
    }
    case 'not-strings': meta[rng.pick(['format', 'alexnet.state', 'other'])] = rng.pick([1, null, {}, []]); break;
    case 'remove': delete header.__metadata__; return;
  }
  header.__metadata__ = meta;
}

// Model configurations that describe a network other than the stored tensors: small ones, or
// (huge) ones whose parameters alone need gigabytes.
const CONFIG_VALUES: Record<string, unknown[]> = {
  numClasses: [0, 1, 2, 4, -3, 2.5, '3', null],
  inChannels: [0, 3, -1],
  inputSize: [0, 1, 23, 25, 63, -24],
  width: [0, 1 / 96, 1 / 24, -1, 1e-300],
  conv1Stride: [0, 2, 4, -1],
  lrn: [false, 1, 'yes'], overlappingPool: [false, 0], dropout: [0, 1, 2, -0.5, 'half'],
  init: ['he', 'zeros', 1], device: ['cuda:7', 'cpu:1', 'tpu', 1], extra: [1],
};
const HUGE_CONFIG_VALUES: Record<string, unknown[]> = {
  numClasses: [250000, 1e9], inChannels: [1e6, 2 ** 31], inputSize: [2000, 1e9], width: [1, 16], conv1Stride: [1e9],
};

function editModelConfig(rng: Rng, header: Header, modelConfig: Record<string, unknown>, huge: boolean, note: (s: string) => void): void {
  const meta = header.__metadata__ as Record<string, string>;
  const state = JSON.parse(meta['alexnet.state']!) as Record<string, unknown>;
  const config: Record<string, unknown> = { ...modelConfig };
  const values = huge ? HUGE_CONFIG_VALUES : CONFIG_VALUES;
  const field = rng.pick(Object.keys(values));
  config[field] = rng.pick(values[field]!);
  note(`model.${field} = ${JSON.stringify(config[field])}`);
  state.model = config;
  meta['alexnet.state'] = JSON.stringify(state);
}

async function loadAndRun(file: string): Promise<void> {
  const model = await loadModel(file, 'cpu');
  try {
    const x = Tensor.zeros([1, ...model.inputShape]);
    const y = model.forward(x);
    await y.toArray();
    x.dispose();
    y.dispose();
  } finally {
    model.dispose();
  }
}

async function run(kind: string, ctx: CaseContext): Promise<void> {
  const { rng, note } = ctx;
  const base = await baseInputs();
  let bytes = base.checkpoint;
  const { header, data } = split(bytes);
  switch (kind) {
    case 'checkpoint/blind': {
      const m = mutateBlindly(rng, bytes);
      note(`byte mutations: ${m.steps.join(', ')}`);
      bytes = m.bytes;
      break;
    }
    case 'checkpoint/header-bytes': {
      // Bit flips inside the JSON header only: the parser and the checks behind it.
      const length = Number(bytes.readBigUInt64LE(0));
      bytes = Buffer.from(bytes);
      const flips = rng.int(1, 4);
      for (let i = 0; i < flips; i++) bytes[8 + rng.int(0, length - 1)]! ^= 1 << rng.int(0, 7);
      note(`${flips} bit flips in the header`);
      break;
    }
    case 'checkpoint/header-length': {
      bytes = Buffer.from(bytes);
      const length = bytes.readBigUInt64LE(0);
      const v = rng.pick([0n, 1n, 2n, length - 1n, length + 1n, BigInt(bytes.length), BigInt(bytes.length - 8),
        2n ** 31n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n]);
      note(`header length ${length} -> ${v}`);
      bytes.writeBigUInt64LE(v, 0);
      break;
    }
    case 'checkpoint/header-field':
      editHeader(rng, header, data.length, note);
      bytes = join8(header, data);
      break;
    case 'checkpoint/truncate': {
      const at = rng.weighted([[1, rng.int(0, 16)], [2, rng.int(0, bytes.length - 1)], [1, bytes.length - rng.int(1, 8)]] as const);
      note(`truncated to ${at} of ${bytes.length} bytes`);
      bytes = bytes.subarray(0, at);
      break;
    }
    case 'checkpoint/metadata':
      editMetadata(rng, header, base.modelConfig, note);
      bytes = join8(header, data);
      break;
    case 'checkpoint/model-config':
    case 'checkpoint/huge-model':
      editModelConfig(rng, header, base.modelConfig, kind === 'checkpoint/huge-model', note);
      bytes = join8(header, data);
      break;
    case 'checkpoint/special-file':
    case 'checkpoint/endless':
    case 'checkpoint/fifo': {
      const file = join(ctx.dir, 'checkpoint.safetensors');
      note(specialFile(rng, file, kind));
      return loadAndRun(file);
    }
    default: throw new Error(`unknown kind ${kind}`);
  }
  const file = join(ctx.dir, 'checkpoint.safetensors');
  writeFileSync(file, bytes);
  await loadAndRun(file);
}

export const checkpoint: Category = {
  name: 'checkpoint',
  kinds: [[3, 'checkpoint/blind'], [2, 'checkpoint/header-bytes'], [1, 'checkpoint/header-length'], [4, 'checkpoint/header-field'],
    [1, 'checkpoint/truncate'], [2, 'checkpoint/metadata'], [2, 'checkpoint/model-config'], [1, 'checkpoint/huge-model'],
    [1, 'checkpoint/special-file'], [1, 'checkpoint/endless'], [1, 'checkpoint/fifo']],
  run,
};
