// Safetensors files written elsewhere: half-precision and integer tensors (bytes written by hand
// here), and plain state dicts without our metadata, named as ours or as an nn.Sequential's,
// loaded with the architecture given and checked against it before anything is built.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlexNetError } from '../lib/index.js';
import { decodeSafetensors, encodeSafetensors, loadCheckpoint, readWeightsFile, renameStateDict, type HostTensor } from '../lib/io/index.js';
import { alexnet, preset, type AlexNet } from '../lib/models/index.js';
import { loadModel } from '../lib/train/index.js';
import { forwardValues as logits } from './helpers/forward.js';
import { randn, rng } from './helpers/random.js';

const dir = mkdtempSync(join(tmpdir(), 'alexnet-open-'));
const quick = preset('fashion-mnist-quick').model;

/** A safetensors file from raw little-endian tensor bytes, as another writer would make it. */
function rawSafetensors(entries: { name: string; dtype: string; shape: number[]; bytes: Uint8Array }[], metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const e of entries) {
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + e.bytes.length] };
    offset += e.bytes.length;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = Buffer.alloc(8 + json.length + offset);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  let at = 8 + json.length;
  for (const e of entries) {
    out.set(e.bytes, at);
    at += e.bytes.length;
  }
  return out;
}

const u16 = (values: number[]): Uint8Array => {
  const b = Buffer.alloc(2 * values.length);
  values.forEach((v, i) => b.writeUInt16LE(v, 2 * i));
  return b;
};
const i64 = (values: bigint[]): Uint8Array => {
  const b = Buffer.alloc(8 * values.length);
  values.forEach((v, i) => b.writeBigInt64LE(v, 8 * i));
  return b;
};

function expectBadFile(fn: () => unknown, pattern: RegExp): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error, 'expected an AlexNetError').to.be.instanceOf(AlexNetError);
  expect((error as AlexNetError).code).to.equal('BAD_FILE');
  expect((error as Error).message).to.match(pattern);
}

async function expectRejects(promise: Promise<unknown>, pattern: RegExp): Promise<AlexNetError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error, 'expected an AlexNetError').to.be.instanceOf(AlexNetError);
  expect((error as AlexNetError).code).to.equal('BAD_FILE');
  expect((error as Error).message).to.match(pattern);
  return error as AlexNetError;
}

async function hostWeights(model: AlexNet): Promise<Record<string, HostTensor>> {
  const out: Record<string, HostTensor> = {};
  for (const [name, t] of Object.entries(model.stateDict())) out[name] = { data: (await t.toArray()) as Float32Array, shape: [...t.shape] };
  return out;
}


describe('safetensors dtypes written by other tools', () => {
  it('F16: normal, subnormal, largest, infinite and NaN values widen to float32 exactly', () => {
    const file = rawSafetensors([{ name: 'h', dtype: 'F16', shape: [10], bytes: u16([0x0000, 0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x3555, 0x8000, 0x7c00, 0x7e00]) }]);
    const { tensors } = decodeSafetensors(file, 'h.safetensors');
    const t = tensors.h!;
    expect(t.data).to.be.instanceOf(Float32Array);
    expect(t.dtype).to.equal('F16');
    expect(Array.from(t.data.slice(0, 9))).to.deep.equal([0, 1, -2, 0.5, 65504, 2 ** -24, 0.333251953125, -0, Infinity]);
    expect(Object.is(t.data[7], -0)).to.equal(true);
    expect(Number.isNaN(t.data[9])).to.equal(true);
  });

  it('BF16: the upper half of a float32', () => {
    const file = rawSafetensors([{ name: 'b', dtype: 'BF16', shape: [2, 2], bytes: u16([0x3f80, 0xc040, 0x3eab, 0xff80]) }]);
    const t = decodeSafetensors(file, 'b.safetensors').tensors.b!;
    expect(t.data).to.be.instanceOf(Float32Array);
    expect(t.shape).to.deep.equal([2, 2]);
    expect(Array.from(t.data)).to.deep.equal([1, -3, 0.333984375, -Infinity]);
  });

  it('I64: exact integers as float64; beyond 2^53 - 1 is refused, naming the tensor', () => {
    const ok = rawSafetensors([{ name: 'steps', dtype: 'I64', shape: [3], bytes: i64([0n, -5n, 2n ** 53n - 1n]) }]);
    const t = decodeSafetensors(ok, 'i.safetensors').tensors.steps!;
    expect(t.data).to.be.instanceOf(Float64Array);
    expect(Array.from(t.data)).to.deep.equal([0, -5, 2 ** 53 - 1]);
    const big = rawSafetensors([{ name: 'steps', dtype: 'I64', shape: [1], bytes: i64([2n ** 53n]) }]);
    expectBadFile(() => decodeSafetensors(big, 'big.safetensors'), /big\.safetensors.*'steps' \(I64\).*9007199254740992/);
  });

  it('another dtype is refused with the list of those read', () => {
    const file = rawSafetensors([{ name: 'q', dtype: 'I8', shape: [2], bytes: new Uint8Array(2) }]);
    expectBadFile(() => decodeSafetensors(file, 'q.safetensors'), /'q' has dtype "I8"; supported: F32, F64, F16, BF16, I64/);
  });

  it('a data size that does not fit the dtype is refused', () => {
    const file = rawSafetensors([{ name: 'h', dtype: 'F16', shape: [3], bytes: new Uint8Array(4) }]);
    expectBadFile(() => decodeSafetensors(file, 'h.safetensors'), /'h' \[3\] has data_offsets \[0, 4\]/);
  });
});

describe('plain state dicts', function () {
  this.timeout(60_000);
  let source: AlexNet;
  let weights: Record<string, HostTensor>;
  const n = 2;
  const x = randn(n * 64 * 64, rng(52));

  before(async () => {
    source = alexnet({ ...quick, seed: 7 }).eval();
    weights = await hostWeights(source);
  });
  after(() => source.dispose());

  const write = (name: string, bytes: Uint8Array): string => {
    const file = join(dir, name);
    writeFileSync(file, bytes);
    return file;
  };

  it('under our names, without metadata: loads with the architecture given and computes the same logits', async () => {
    const file = write('ours.safetensors', encodeSafetensors(weights));
    const model = await loadModel(file, 'cpu', { model: quick });
    try {
      expect(await logits(model, x, n)).to.deep.equal(await logits(source, x, n));
    } finally {
      model.dispose();
    }
  });

  it('PyTorch\'s {"format": "pt"} metadata is a plain state dict too', async () => {
    const file = write('pt.safetensors', encodeSafetensors(weights, { format: 'pt' }));
    const read = await readWeightsFile(file);
    expect(read.state).to.equal(null);
    expect(Object.keys(read.weights)).to.have.length(16);
    await expectRejects(loadCheckpoint(file), /not an alexnet checkpoint: its metadata format is "pt".*--preset/);
  });

  it('an nn.Sequential\'s names in BF16 (features.N, classifier.N): renamed by layer order and widened', async () => {
    // Truncating float32 to its upper 16 bits is a BF16 value; the same values in float32 are the reference.
    const truncated: Record<string, HostTensor> = {};
    const entries: { name: string; dtype: string; shape: number[]; bytes: Uint8Array }[] = [];
    const paths = ['features.0', 'features.4', 'features.8', 'features.10', 'features.12', 'classifier.1', 'classifier.4', 'classifier.6'];
    const ours = ['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7', 'fc8'];
    ours.forEach((layer, i) => {
      for (const kind of ['weight', 'bias']) {
        const t = weights[`${layer}.${kind}`]!;
        const bits = new Uint32Array(Float32Array.from(t.data).buffer);
        const half = bits.map((b) => b >>> 16);
        truncated[`${layer}.${kind}`] = { data: new Float32Array(half.map((h) => h << 16).buffer), shape: t.shape };
        entries.push({ name: `${paths[i]}.${kind}`, dtype: 'BF16', shape: t.shape, bytes: u16(Array.from(half)) });
      }
    });
    // Written in name order, as Python's writer sorts them: 'classifier' before 'features', 10 before 4.
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    const file = write('sequential.safetensors', rawSafetensors(entries, { format: 'pt' }));
    const read = await readWeightsFile(file);
    expect(read.naming).to.equal('sequential');
    expect(read.renamed).to.deep.equal(paths.map((p, i) => [p, ours[i]]));
    const reference = write('truncated.safetensors', encodeSafetensors(truncated));
    const [a, b] = [await loadModel(file, 'cpu', { model: quick }), await loadModel(reference, 'cpu', { model: quick })];
    try {
      expect(await logits(a, x, n)).to.deep.equal(await logits(b, x, n));
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  it('F64 weights are narrowed to float32; a value beyond float32 is refused', async () => {
    const wide: Record<string, HostTensor> = Object.fromEntries(Object.entries(weights).map(([k, t]) => [k, { data: Float64Array.from(t.data), shape: t.shape }]));
    const model = await loadModel(write('f64.safetensors', encodeSafetensors(wide)), 'cpu', { model: quick });
    try {
      expect(await logits(model, x, n)).to.deep.equal(await logits(source, x, n));
    } finally {
      model.dispose();
    }
    const huge = { ...wide, 'fc8.bias': { data: new Float64Array(10).fill(1e300), shape: [10] } };
    await expectRejects(loadModel(write('huge.safetensors', encodeSafetensors(huge)), 'cpu', { model: quick }), /'fc8\.bias' holds 1e\+300 at index 0, beyond float32's range/);
  });

  it('an integer tensor in a weight\'s place is refused', async () => {
    const entries = Object.entries(weights).map(([name, t]) => name === 'fc8.bias'
      ? { name, dtype: 'I64', shape: t.shape, bytes: i64(Array.from(t.data, () => 1n)) }
      : { name, dtype: 'F32', shape: t.shape, bytes: new Uint8Array(t.data.buffer.slice(0)) });
    await expectRejects(loadModel(write('int.safetensors', rawSafetensors(entries)), 'cpu', { model: quick }), /'fc8\.bias' holds integers \(I64\)/);
  });

  it('without an architecture: refused, saying what to give', async () => {
    await expectRejects(loadModel(join(dir, 'ours.safetensors')), /plain state dict.*options\.model, or --preset/);
  });

  it('an architecture that does not fit: refused before it is built, naming the tensor', async () => {
    await expectRejects(loadModel(join(dir, 'ours.safetensors'), 'cpu', { model: { ...quick, width: 0.5 } }),
      /do not fit the model the given architecture describes: 'conv1\.weight' is \[24, 1, 11, 11\] in the file but \[48, 1, 11, 11\]/);
    // A huge input size is refused from the shapes alone (the model would be gigabytes).
    await expectRejects(loadModel(join(dir, 'ours.safetensors'), 'cpu', { model: { ...quick, inputSize: 4000 } }), /'fc6\.weight' is/);
  });

  it('names that do not identify the layers: refused, listing the names expected', () => {
    const three = (w: Record<string, HostTensor>) => Object.fromEntries(Object.entries(w).filter(([k]) => !k.startsWith('conv5')).map(([k, t]) => [k.replace(/^conv(\d)/, 'features.$1').replace(/^fc(\d)/, 'classifier.$1'), t]));
    expectBadFile(() => renameStateDict('x.safetensors', three(weights)), /4 layers with 4-D weights .* not 5 and 3; the names must be either ours \(conv1\.weight, conv1\.bias/);
    expectBadFile(() => renameStateDict('x.safetensors', { 'bn.running_mean': weights['conv1.bias']!, ...weights }), /'bn\.running_mean' is neither a weight nor a bias/);
    const noBias = Object.fromEntries(Object.entries(weights).filter(([k]) => k !== 'fc8.bias').map(([k, t]) => [`m.${k}`, t]));
    expectBadFile(() => renameStateDict('x.safetensors', noBias), /'m\.fc8' has no bias/);
  });

  it('NaN in a plain state dict is refused, naming the tensor', async () => {
    const poisoned = { ...weights, 'conv2.bias': { data: new Float32Array(weights['conv2.bias']!.data).fill(NaN, 0, 2), shape: weights['conv2.bias']!.shape } };
    await expectRejects(readWeightsFile(write('nan.safetensors', encodeSafetensors(poisoned))), /'conv2\.bias' holds 2 non-finite values/);
  });

  it('a state dict written by PyTorch loads (needs python3 with torch and safetensors)', async function () {
    const probe = spawnSync('python3', ['-c', 'import torch, safetensors'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      this.test!.title += ' — skipped: python3 cannot import torch and safetensors here';
      this.skip();
    }
    const file = join(dir, 'torch.safetensors');
    const weightsFile = write('for-torch.safetensors', encodeSafetensors(weights));
    // PyTorch reads our float32 weights, halves them and writes them under nn.Sequential names.
    const script = `
import sys, torch
from safetensors.torch import load_file, save_file
w = load_file(sys.argv[1])
paths = ['features.0', 'features.4', 'features.8', 'features.10', 'features.12', 'classifier.1', 'classifier.4', 'classifier.6']
ours = ['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7', 'fc8']
out = {f'{p}.{k}': w[f'{o}.{k}'].to(torch.float16) for p, o in zip(paths, ours) for k in ('weight', 'bias')}
save_file(out, sys.argv[2], metadata={'format': 'pt'})
`;
    const r = spawnSync('python3', ['-c', script, weightsFile, file], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    const model = await loadModel(file, 'cpu', { model: quick });
    try {
      const [a, b] = [await logits(model, x, n), await logits(source, x, n)];
      const scale = Math.max(...Array.from(b, Math.abs));
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).to.be.below(2e-2 * scale);
    } finally {
      model.dispose();
    }
  });
});
