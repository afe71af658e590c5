// Checkpoints: safetensors layout (as Python's safetensors reads it), bit-exact round trips,
// atomic replacement, and errors that name the corrupt file.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlexNetError, disposeAll, ops } from '../lib/index.js';
import { decodeSafetensors, encodeSafetensors, loadCheckpoint, saveCheckpoint, toDevice, writeFileAtomic, CHECKPOINT_FORMAT, type TrainingState } from '../lib/io/index.js';
import { alexnet } from '../lib/models/index.js';
import { SGD } from '../lib/optim/index.js';
import { loadModel } from '../lib/train/index.js';

const tinyOptions = { numClasses: 4, inChannels: 1, inputSize: 32, width: 1 / 8, conv1Stride: 1, init: 'he' as const, seed: 5 };

function state(extra: Partial<TrainingState> = {}): TrainingState {
  return {
    format: CHECKPOINT_FORMAT, epoch: 1, batch: 3, step: 9, lr: 0.01, schedule: { type: 'plateau', best: 'Infinity', badEpochs: 0, reductions: 0 },
    seed: 5, rng: 'test', bestError: null, bestEpoch: null, epochLoss: { sum: 1.5, count: 3 },
    model: { ...tinyOptions, lrn: true, overlappingPool: true, dropout: 0.5, device: 'cpu' }, training: {}, savedAt: 'now', ...extra,
  };
}

describe('safetensors', () => {
  it('writes the documented layout: u64 LE header length, JSON header, contiguous F32 data, 8-byte aligned', () => {
    const bytes = encodeSafetensors({
      'a.weight': { data: Float32Array.from([1, 2, 3, 4, 5, 6]), shape: [2, 3] },
      b: { data: Float32Array.from([-0, NaN]), shape: [2] },
      c: { data: Float64Array.from([1 / 3]), shape: [] },
    }, { note: 'hi' });
    const n = Number(bytes.readBigUInt64LE(0));
    expect((8 + n) % 8).to.equal(0);
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
    expect(header).to.deep.equal({
      __metadata__: { note: 'hi' },
      'a.weight': { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] },
      b: { dtype: 'F32', shape: [2], data_offsets: [24, 32] },
      c: { dtype: 'F64', shape: [], data_offsets: [32, 40] },
    });
    expect(bytes.length).to.equal(8 + n + 40);
    expect(bytes.readFloatLE(8 + n + 8)).to.equal(3);
    const back = decodeSafetensors(bytes, 'x.safetensors');
    expect(Object.is(back.tensors.b!.data[0], -0)).to.equal(true);
    expect(Number.isNaN(back.tensors.b!.data[1])).to.equal(true);
    expect(back.metadata).to.deep.equal({ note: 'hi' });
    expect(back.tensors.c!.data).to.be.instanceOf(Float64Array);
    expect(back.tensors.c!.data[0]).to.equal(1 / 3);
  });

  it("is read by Python's safetensors package (when installed)", function () {
    const probe = spawnSync('python3', ['-c', 'import safetensors.numpy'], { encoding: 'utf8' });
    if (probe.status !== 0) this.skip(); // optional cross-check: `pip install safetensors numpy`
    const dir = mkdtempSync(join(tmpdir(), 'alexnet-st-'));
    const file = join(dir, 'x.safetensors');
    writeFileSync(file, encodeSafetensors({
      'conv1.weight': { data: Float32Array.from([1.5, -2, 3, 4]), shape: [2, 2] },
      'data.mean_image': { data: Float64Array.from([0.1, 1 / 3]), shape: [1, 2] },
    }, { format: 'f' }));
    const script = 'import sys, json; from safetensors.numpy import load_file; from safetensors import safe_open\n' +
      't = load_file(sys.argv[1]); f = safe_open(sys.argv[1], "np")\n' +
      'print(json.dumps({k: [list(v.shape), str(v.dtype), v.ravel().tolist()] for k, v in t.items()})); print(json.dumps(f.metadata()))';
    const r = spawnSync('python3', ['-c', script, file], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    const [tensors, meta] = r.stdout.trim().split('\n');
    expect(JSON.parse(tensors!)).to.deep.equal({ 'conv1.weight': [[2, 2], 'float32', [1.5, -2, 3, 4]], 'data.mean_image': [[1, 2], 'float64', [0.1, 1 / 3]] });
    expect(JSON.parse(meta!)).to.deep.equal({ format: 'f' });
  });

  it('rejects corrupt files with AlexNetError BAD_FILE naming the file', () => {
    const good = encodeSafetensors({ w: { data: new Float32Array(4), shape: [4] } });
    const cases: [string, Uint8Array, RegExp][] = [
      ['short', good.subarray(0, 5), /fewer than the 8-byte header length/],
      ['truncated', good.subarray(0, good.length - 4), /outside the 12 data bytes|wrong size/],
      ['garbage', Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{{{{')]), /header is not JSON/],
      ['huge header', Buffer.from([255, 255, 255, 255, 0, 0, 0, 0, 1]), /exceeds the file size/],
      ['extra bytes', Buffer.concat([good, Buffer.alloc(4)]), /cover 16 of 20 data bytes/],
    ];
    for (const [name, bytes, why] of cases) {
      try {
        decodeSafetensors(bytes, `/runs/${name}.safetensors`);
        expect.fail(`${name} should be rejected`);
      } catch (e) {
        expect(e, name).to.be.instanceOf(AlexNetError);
        expect((e as AlexNetError).code).to.equal('BAD_FILE');
        expect((e as Error).message).to.include(`/runs/${name}.safetensors`);
        expect((e as Error).message, name).to.match(why);
      }
    }
  });
});

describe('checkpoints', () => {
  it('round-trips weights, momentum and state bit-exactly; a rebuilt model matches', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'alexnet-ckpt-'));
    const net = alexnet(tinyOptions);
    const sgd = new SGD(net);
    for (const v of Object.values(sgd.stateDict())) ops.normal(v, { std: 0.1, seed: 9 });
    const [path] = await saveCheckpoint(dir, ['last', 'best'], net.stateDict(), sgd.stateDict(), state());
    expect(readdirSync(dir).sort()).to.deep.equal(['best.json', 'best.safetensors', 'last.json', 'last.safetensors']);
    expect(readFileSync(join(dir, 'best.safetensors'))).to.deep.equal(readFileSync(path!));
    expect(JSON.parse(readFileSync(join(dir, 'last.json'), 'utf8'))).to.deep.equal(state());

    const ckpt = await loadCheckpoint(path!);
    expect(ckpt.state).to.deep.equal(state());
    expect(Object.keys(ckpt.weights)).to.deep.equal(Object.keys(net.stateDict()));
    expect(Object.keys(ckpt.momentum)).to.deep.equal(Object.keys(net.stateDict()).map((n) => `momentum.${n}`));
    for (const [name, t] of Object.entries(net.stateDict())) {
      const want = new Uint8Array(((await t.toArray()) as Float32Array).buffer);
      expect(new Uint8Array(ckpt.weights[name]!.data.buffer), name).to.deep.equal(want);
    }
    // Loaded into a fresh model (other seed) and into a fresh optimiser: identical bits again.
    const other = alexnet({ ...tinyOptions, seed: 6 });
    const otherSgd = new SGD(other);
    const w = toDevice(ckpt.weights, 'cpu');
    const m = toDevice(ckpt.momentum, 'cpu');
    other.loadStateDict(w);
    otherSgd.loadStateDict(m);
    disposeAll(w, m);
    for (const [name, t] of Object.entries({ ...other.stateDict(), ...otherSgd.stateDict() })) {
      const src = name.startsWith('momentum.') ? sgd.stateDict()[name]! : net.stateDict()[name]!;
      expect(Array.from(await t.toArray()), name).to.deep.equal(Array.from(await src.toArray()));
    }
    const rebuilt = await loadModel(dir);
    expect(rebuilt.training).to.equal(false);
    expect(Array.from(await rebuilt.stateDict()['fc8.weight']!.toArray())).to.deep.equal(Array.from(await net.stateDict()['fc8.weight']!.toArray()));
    [net, other, rebuilt].forEach((n) => n.dispose());
    sgd.dispose();
    otherSgd.dispose();
  });

  it('corrupt or foreign checkpoint files give errors naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'alexnet-bad-'));
    const truncated = join(dir, 'truncated.safetensors');
    const net = alexnet(tinyOptions);
    const [path] = await saveCheckpoint(dir, ['last'], net.stateDict(), {}, state());
    writeFileSync(truncated, readFileSync(path!).subarray(0, 1000));
    const foreign = join(dir, 'foreign.safetensors');
    writeFileSync(foreign, encodeSafetensors({ w: { data: new Float32Array(1), shape: [1] } }));
    for (const [file, why] of [[truncated, /not a valid safetensors file/], [foreign, /not an alexnet checkpoint/], [join(dir, 'missing.safetensors'), /cannot read checkpoint/]] as const) {
      try {
        await loadCheckpoint(file);
        expect.fail(`${file} should be rejected`);
      } catch (e) {
        expect(e).to.be.instanceOf(AlexNetError);
        expect((e as Error).message).to.include(file).and.match(why);
      }
    }
    try {
      await loadModel(truncated);
      expect.fail('loadModel should reject');
    } catch (e) {
      expect((e as Error).message).to.include(truncated);
    }
    net.dispose();
  });

  it('writes atomically: no temporary files are left and the old content is replaced whole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'alexnet-atomic-'));
    const file = join(dir, 'f.bin');
    await writeFileAtomic(file, 'old');
    await writeFileAtomic(file, 'new content');
    expect(readFileSync(file, 'utf8')).to.equal('new content');
    expect(readdirSync(dir)).to.deep.equal(['f.bin']);
    let failed = false;
    await writeFileAtomic(join(dir, 'no-such-dir', 'x'), 'x').catch(() => { failed = true; });
    expect(failed).to.equal(true);
  });
});
