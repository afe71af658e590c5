// The hybrid of data and model parallelism (convolutional layers data parallel, fully connected
// layers split over the ranks by output features): its collectives (all-gather, reduce-scatter) in
// a group of one and under mpirun -n 2, the dropout columns of a wider layer's mask, each rank's
// slices drawn as the one-process weights, and `alexnet train --parallel hybrid` under mpirun: the
// weights of one process within 1e-5, a checkpoint that resumes in one process and in the hybrid.
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arrayDataset, createLoader, FASHION_MNIST_DIR } from '../lib/data/index.js';
import { HybridParallel, initDistributed, ProcessGroup } from '../lib/distributed/index.js';
import { loadCheckpoint } from '../lib/io/index.js';
import { alexnet, hybridAlexNet, hybridTwoColumnAlexNet, TwoColumnAlexNet } from '../lib/models/index.js';
import { Dropout, type Module } from '../lib/nn/index.js';
import * as ops from '../lib/ops/index.js';
import { bf16Support, Tensor } from '../lib/tensor.js';
import { Trainer } from '../lib/train/index.js';
import { CLI } from './helpers/cli.js';
import { mpiMissing } from './helpers/mpi.js';

const haveData = existsSync(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));
const MPI_ENV = { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' };
const QUICK = { numClasses: 10, inChannels: 1, inputSize: 64, width: 0.25, conv1Stride: 4, init: 'he' } as const;

async function floats(t: Tensor): Promise<number[]> {
  return Array.from((await t.toArray()) as Float32Array);
}

/** A group object for rank `rank` of `size` that runs no collective: for splitting and drawing only. */
function groupOf(rank: number, size: number): ProcessGroup {
  return new ProcessGroup({ rank, size, localRank: rank, timeoutSeconds: 30, cpuTransport: 'mpi', cudaTransport: 'mpi' });
}

describe('hybrid parallelism in one process', () => {
  it('all-gather and reduce-scatter in a group of one copy, and check their shapes and counts', async () => {
    const group = await initDistributed();
    const x = Tensor.fromArray(Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]);
    const y = Tensor.zeros([2, 3]);
    group.allGather(x, y, { dim: 1 }).wait();
    expect(await floats(y)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    const z = Tensor.zeros([2, 3]);
    group.reduceScatter(x, z, { dim: 0, op: 'mean' }).wait();
    expect(await floats(z)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    expect(() => group.allGather(x, Tensor.zeros([2, 4]), { dim: 1 })).to.throw(TypeError, /input must have shape \[2, 4\]/);
    expect(() => group.allGather(x, Tensor.zeros([2, 3]), { dim: 1, counts: [2] })).to.throw(TypeError, /sum of counts \(2\)/);
    expect(() => group.allGather(x, y, { counts: [1, 1] })).to.throw(TypeError, /options\.counts must be an array of 1/);
    expect(() => group.allGather(x, y, { dim: 2 })).to.throw(RangeError, /options\.dim/);
    expect(() => group.allGather(x, x)).to.throw(TypeError, /must not share storage/);
    expect(() => group.reduceScatter(x, z, { op: 'max' as 'sum' })).to.throw(TypeError, /options\.op/);
    for (const t of [x, y, z]) t.dispose();
  });

  it('split() shares n as the sharded loaders share rows', () => {
    expect(groupOf(0, 3).split(10)).to.deep.equal({ counts: [3, 3, 4], start: 0 });
    expect(groupOf(2, 3).split(10)).to.deep.equal({ counts: [3, 3, 4], start: 6 });
    expect(groupOf(1, 2).split(1024)).to.deep.equal({ counts: [512, 512], start: 512 });
  });

  it('dropout columns drawn alone with rowStride get those columns of the wider mask', async () => {
    const rows = 5, width = 12, start = 7, cols = 4;
    const whole = ops.dropout(Tensor.full([rows, width], 1), { p: 0.5, seed: 9 });
    const wide = await floats(whole.mask);
    const want = Array.from({ length: rows * cols }, (_, i) => wide[Math.floor(i / cols) * width + start + (i % cols)]!);
    const part = Tensor.full([rows, cols], 1);
    expect(await floats(ops.dropout(part, { p: 0.5, seed: 9, offset: start, rowStride: width }).mask)).to.deep.equal(want);
    expect(await floats(ops.dropout(part, { p: 0.5, seed: 9, offset: start }).mask)).to.not.deep.equal(want);
    expect(() => ops.dropout(part, { p: 0.5, seed: 9, rowStride: 3 })).to.throw(TypeError, /rowStride must be 0 or at least the last dimension \(4\)/);
    // The layer: its columns of a wider layer, at a row offset of the global batch.
    const layer = new Dropout(0.5, 9);
    layer.setColumns({ start, width });
    layer.setRowOffset(2);
    const y = layer.forward(Tensor.full([3, cols], 1));
    expect(await floats(y)).to.deep.equal(want.slice(2 * cols));
    expect(() => layer.setColumns({ start: 12, width })).to.throw(RangeError, /columns\.start/);
    expect(() => layer.forward(Tensor.full([3, 9], 1))).to.throw(RangeError, /is not columns 7\.\. of rows 12 wide/);
    layer.release();
  });

  it("each rank's drawn slices of fc6-fc8, put together, are the one-process weights; the convolutions are whole", async () => {
    const whole = alexnet({ ...QUICK, seed: 4 });
    const parts = [0, 1, 2].map((r) => hybridAlexNet({ ...QUICK, seed: 4 }, groupOf(r, 3)));
    for (const [name, p] of whole.namedParameters()) {
      const slices = await Promise.all(parts.map((m) => floats(m.namedParameters().find(([n]) => n === name)![1].value)));
      if (name.startsWith('fc')) {
        expect(slices.flat(), name).to.deep.equal(await floats(p.value));
        expect(parts[0]!.isSliced(name)).to.equal(true);
      } else {
        for (const s of slices) expect(s, name).to.deep.equal(await floats(p.value));
      }
    }
    expect(parts[2]!.replicatedParameters().map(([n]) => n)).to.deep.equal(whole.namedParameters().map(([n]) => n).filter((n) => !n.startsWith('fc')));
    // A rank's slices cut from the whole tensors a checkpoint holds.
    const state = whole.stateDict();
    const cut = parts[1]!.importState(state);
    const own = parts[1]!.namedParameters().find(([n]) => n === 'fc8.weight')![1];
    expect(cut['fc8.weight']!.shape).to.deep.equal(own.shape);
    expect(await floats(cut['fc8.weight']!)).to.deep.equal(await floats(own.value));
    whole.dispose();
    parts.forEach((m) => m.dispose());
  });

  it('a group of one in the hybrid computes what the whole model computes', async () => {
    const group = await initDistributed();
    const whole = alexnet({ ...QUICK, seed: 2 });
    const hybrid = HybridParallel.fromModel(alexnet({ ...QUICK, seed: 2 }), group);
    const x = Tensor.fromArray(Float32Array.from({ length: 4 * 64 * 64 }, (_, i) => Math.sin(i)), [4, 1, 64, 64]);
    for (const m of [whole, hybrid]) m.reseed(7);
    const [a, b] = [whole.forward(x), hybrid.forward(x)];
    expect(await floats(b)).to.deep.equal(await floats(a));
    const dy = Tensor.full(a.shape, 0.25);
    whole.backward(dy)?.dispose();
    hybrid.backward(dy)?.dispose();
    for (const name of ['conv1.weight', 'fc6.weight', 'fc8.bias']) {
      const grad = (m: typeof whole | HybridParallel) => m.namedParameters().find(([n]) => n === name)![1].grad!;
      expect(await floats(grad(hybrid)), name).to.deep.equal(await floats(grad(whole)));
    }
    for (const t of [x, a, b, dy]) t.dispose();
    whole.dispose();
    hybrid.dispose();
  });

  it('the Trainer refuses a hybrid model as data parallel, and an unknown mode', async () => {
    const ds = arrayDataset(new Uint8Array(8 * 64 * 64), new Int32Array(8), [8, 64, 64, 1]);
    const train = await createLoader(ds, { batchSize: 4, train: true, size: 64, crop: 64, workers: 1, mean: 'none' });
    try {
      const model = hybridAlexNet({ ...QUICK, seed: 1 }, await initDistributed());
      expect(() => new Trainer({ model, train, epochs: 1, parallel: 'data' })).to.throw(TypeError, /pass parallel: 'hybrid'/);
      expect(() => new Trainer({ model, train, epochs: 1, parallel: 'model' as 'data' })).to.throw(TypeError, /parallel must be 'data' or 'hybrid'/);
      model.dispose();
    } finally {
      await train.close();
    }
  });

  it('the Trainer refuses a hybrid whose last validation batch would leave a rank out', async () => {
    const ds = arrayDataset(new Uint8Array(9 * 64 * 64), new Int32Array(9), [9, 64, 64, 1]);
    const common = { batchSize: 4, size: 64, crop: 64, workers: 1, mean: 'none', shard: { index: 0, count: 2 } } as const;
    const train = await createLoader(ds, { ...common, train: true });
    const val = await createLoader(ds, { ...common, train: false });
    const group = groupOf(0, 2);
    const model = hybridAlexNet({ ...QUICK, seed: 1 }, group);
    try {
      expect(() => new Trainer({ model, train, val, epochs: 1, group })).to.throw(RangeError, /last validation batch has 1 images for 2 ranks/);
    } finally {
      model.dispose();
      await train.close();
      await val.close();
    }
  });

  it('alexnet train --parallel rejects an unknown mode', () => {
    const r = spawnSync(process.execPath, [CLI, 'train', '--parallel', 'model'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).to.equal(2);
    expect(r.stderr).to.match(/--parallel/);
  });
});

describe('hybrid parallelism with the two columns (cpu:0 + cpu:1) in one process', () => {
  const TWO = { ...QUICK, devices: ['cpu:0', 'cpu:1'] as ['cpu:0', 'cpu:1'] };

  it("each rank's slices of fc6-fc8 are the one-process weights; the convolutions are the two columns, on both devices", async () => {
    const whole = alexnet({ ...QUICK, seed: 4 });
    const columns = new TwoColumnAlexNet({ ...TWO, seed: 4 });
    const parts = [0, 1].map((r) => hybridTwoColumnAlexNet({ ...TWO, seed: 4 }, groupOf(r, 2)));
    const named = (m: { namedParameters(): [string, { value: Tensor }][] }, name: string) => m.namedParameters().find(([n]) => n === name)![1].value;
    for (const [name, p] of columns.namedParameters()) {
      if (name.startsWith('fc')) continue;
      for (const part of parts) {
        expect(part.isSliced(name), name).to.equal(false);
        expect(named(part, name).device, name).to.equal(p.value.device);
        expect(await floats(named(part, name)), name).to.deep.equal(await floats(p.value));
      }
    }
    for (const [name, p] of whole.namedParameters().filter(([n]) => n.startsWith('fc'))) {
      expect(parts[0]!.isSliced(name), name).to.equal(true);
      expect(named(parts[1]!, name).device).to.equal('cpu:0');
      const slices = await Promise.all(parts.map((m) => floats(named(m, name))));
      expect(slices.flat(), name).to.deep.equal(await floats(p.value));
    }
    expect(parts[0]!.replicatedParameters().map(([n]) => n)).to.deep.equal(columns.namedParameters().map(([n]) => n).filter((n) => !n.startsWith('fc')));
    // A checkpoint of the one-device layout cut into a rank's columns and slices.
    const state = whole.stateDict();
    const cut = parts[1]!.importState(state);
    expect(Object.keys(cut).sort()).to.deep.equal(parts[1]!.namedParameters().map(([n]) => n).sort());
    for (const [name, p] of parts[1]!.namedParameters()) expect(await floats(cut[name]!), name).to.deep.equal(await floats(p.value));
    for (const [name, t] of Object.entries(cut)) if (state[name] !== t) t.dispose();
    whole.dispose();
    columns.dispose();
    parts.forEach((m) => m.dispose());
  });

  it('a group of one computes what the two-column model computes, forward and backward, and saves the one-device layout', async () => {
    const group = await initDistributed();
    const columns = new TwoColumnAlexNet({ ...TWO, seed: 2 });
    const hybrid = hybridTwoColumnAlexNet({ ...TWO, seed: 2 }, group);
    const x = Tensor.fromArray(Float32Array.from({ length: 4 * 64 * 64 }, (_, i) => Math.sin(i)), [4, 1, 64, 64]);
    for (const m of [columns, hybrid]) m.reseed(7);
    const [a, b] = [columns.forward(x), hybrid.forward(x)];
    expect(await floats(b)).to.deep.equal(await floats(a));
    const dy = Tensor.full(a.shape, 0.25);
    columns.backward(dy)?.dispose();
    hybrid.backward(dy)?.dispose();
    const grad = (m: Module, name: string) => floats(m.namedParameters().find(([n]) => n === name)![1].grad!);
    for (const name of ['conv1.weight#0', 'conv5.weight#1', 'fc8.bias']) expect(await grad(hybrid, name), name).to.deep.equal(await grad(columns, name));
    // fc6 whole on cpu:0 in the hybrid, its two column halves' rows in the two-column model.
    expect(await grad(hybrid, 'fc6.weight')).to.deep.equal([...await grad(columns, 'fc6.weight#0'), ...await grad(columns, 'fc6.weight#1')]);
    const [saved, reference] = [hybrid.stateDict(), columns.stateDict()];
    expect(Object.keys(saved).sort()).to.deep.equal(Object.keys(reference).sort());
    for (const name of Object.keys(reference)) expect(await floats(saved[name]!), name).to.deep.equal(await floats(reference[name]!));
    for (const t of [x, a, b, dy, ...Object.values(saved), ...Object.values(reference)]) t.dispose();
    columns.dispose();
    hybrid.dispose();
  });
});

/** `mpirun -n 2 <command>` to its end. */
function mpirun(command: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const exported = Object.keys(env).flatMap((k) => ['-x', k]);
  const child = spawn('mpirun', ['-n', '2', '--oversubscribe', ...exported, ...command], { env: { ...MPI_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
  return new Promise((resolve) => child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); }));
}

/** The largest relative difference over the weight tensors of two checkpoints (max |a - b| / max |a|). */
async function weightDifference(a: string, b: string): Promise<number> {
  const [x, y] = [await loadCheckpoint(a), await loadCheckpoint(b)];
  let relative = 0;
  for (const [name, t] of Object.entries(x.weights)) {
    const u = y.weights[name]!;
    expect(u.shape, name).to.deep.equal(t.shape);
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < t.data.length; i++) {
      diff = Math.max(diff, Math.abs(t.data[i]! - u.data[i]!));
      scale = Math.max(scale, Math.abs(t.data[i]!));
    }
    relative = Math.max(relative, diff / Math.max(scale, 1e-30));
  }
  return relative;
}

describe('hybrid parallelism under mpirun -n 2 (CPU)', function () {
  this.timeout(300_000);
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-hybrid-'));

  before(function () {
    if (mpiMissing) {
      console.log(`      (skipped: ${mpiMissing})`);
      this.skip();
    }
  });

  it('all-gather and reduce-scatter along rows and features, with unequal shares', async () => {
    const script = `const { initDistributed, Tensor } = await import(${JSON.stringify(new URL('../lib/index.js', import.meta.url).href)});
      const g = await initDistributed();
      const r = g.rank, counts = [2, 3], c = counts[r];
      const read = async (t) => Array.from(await t.toArray());
      const out = {};
      const x = Tensor.fromArray(Float32Array.from({ length: 2 * c }, (_, i) => 100 * r + i), [2, c]);
      const features = Tensor.zeros([2, 5]);
      g.allGather(x, features, { dim: 1, counts }).wait();
      out.features = await read(features);
      const whole = Tensor.fromArray(Float32Array.from({ length: 10 }, (_, i) => i + 10 * r), [2, 5]);
      const mine = Tensor.zeros([2, c]);
      g.reduceScatter(whole, mine, { dim: 1, counts }).wait();
      out.scattered = await read(mine);
      const rows = Tensor.zeros([5, 2]);
      g.allGather(Tensor.fromArray(Float32Array.from({ length: 2 * c }, (_, i) => 10 * r + i), [c, 2]), rows, { counts }).wait();
      out.rows = await read(rows);
      const half = Tensor.zeros([1, 5]);
      g.reduceScatter(whole, half, { op: 'mean' }).wait();
      out.mean = await read(half);
      console.log(JSON.stringify({ rank: r, ...out }));`;
    const r = await mpirun([process.execPath, '--input-type=module', '-e', script]);
    expect(r.code, r.stderr).to.equal(0);
    const byRank = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, number[]> & { rank: number }).sort((a, b) => a.rank - b.rank);
    for (const o of byRank) {
      expect(o.features).to.deep.equal([0, 1, 100, 101, 102, 2, 3, 103, 104, 105]);
      expect(o.rows).to.deep.equal([0, 1, 2, 3, 10, 11, 12, 13, 14, 15]);
    }
    expect(byRank[0]!.scattered).to.deep.equal([10, 12, 20, 22]);
    expect(byRank[1]!.scattered).to.deep.equal([14, 16, 18, 24, 26, 28]);
    expect(byRank[0]!.mean).to.deep.equal([5, 6, 7, 8, 9]);
    expect(byRank[1]!.mean).to.deep.equal([10, 11, 12, 13, 14]);
  });

  it('an all-gather that a rank never joins fails with RANK_LOST naming it, and ends the job', async () => {
    const script = `const { initDistributed, Tensor } = await import(${JSON.stringify(new URL('../lib/index.js', import.meta.url).href)});
      const g = await initDistributed();
      if (g.rank === 1) await new Promise((r) => setTimeout(r, 60_000));
      const whole = Tensor.zeros([4]);
      g.allGather(Tensor.zeros([2]), whole).wait();
      try { await whole.toArray(); console.log('gathered'); }
      catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); g.abortOnExit(); }`;
    const started = Date.now();
    const r = await mpirun([process.execPath, '--input-type=module', '-e', script], { ALEXNET_DIST_TIMEOUT: '3' });
    expect(r.code).to.not.equal(0);
    expect((Date.now() - started) / 1000).to.be.below(50);
    const report = JSON.parse(r.stdout.trim().split('\n').find((l) => l.startsWith('{'))!) as { code: string; message: string };
    expect(report.code).to.equal('RANK_LOST');
    expect(report.message).to.include('all-gather').and.to.include('lost rank 1');
  });

  describe('alexnet train --parallel hybrid (Fashion-MNIST)', () => {
    const args = ['--preset', 'fashion-mnist-quick', '--seed', '3', '--progress', 'none', '--limit', '4096', '--epochs', '2'];
    const train = (extra: string[]) => [process.execPath, CLI, 'train', ...extra];

    before(function () {
      if (!haveData) this.skip();
    });

    it('gives the weights of one process within 1e-5 (5 steps, dropout on)', async () => {
      const one = spawnSync(process.execPath, [CLI, 'train', ...args, '--max-steps', '5', '--out', join(dir, 'one')], { encoding: 'utf8', timeout: 300_000 });
      expect(one.status, one.stderr).to.equal(0);
      const two = await mpirun(train([...args, '--max-steps', '5', '--parallel', 'hybrid', '--out', join(dir, 'hybrid')]));
      expect(two.code, two.stderr).to.equal(0);
      expect(two.stderr).to.include('2 ranks over mpi, fully connected layers split over them (hybrid)');
      expect(await weightDifference(join(dir, 'one', 'last.safetensors'), join(dir, 'hybrid', 'last.safetensors'))).to.be.below(1e-5);
    });

    it('with --devices (each rank\'s convolutions in two columns on cpu:0 + cpu:1), gives the weights of one two-column process within 1e-5', async () => {
      const columns = ['--devices', 'cpu:0,cpu:1', '--max-steps', '5'];
      const one = spawnSync(process.execPath, [CLI, 'train', ...args, ...columns, '--out', join(dir, 'one-columns')], { encoding: 'utf8', timeout: 300_000 });
      expect(one.status, one.stderr).to.equal(0);
      const two = await mpirun(train([...args, ...columns, '--parallel', 'hybrid', '--out', join(dir, 'hybrid-columns')]));
      expect(two.code, two.stderr).to.equal(0);
      expect(two.stderr).to.include('two columns on cpu:0 + cpu:1, 2 ranks over mpi, fully connected layers split over them (hybrid)');
      expect(await weightDifference(join(dir, 'one-columns', 'last.safetensors'), join(dir, 'hybrid-columns', 'last.safetensors'))).to.be.below(1e-5);
    });

    it('with dynamic loss scaling (each rank unscales its own slice of fc6-fc8), gives one process\'s weights within 1e-5 and its scale', async () => {
      const scaled = [...args, '--max-steps', '5', '--loss-scale', 'dynamic'];
      const one = spawnSync(process.execPath, [CLI, 'train', ...scaled, '--out', join(dir, 'one-scaled')], { encoding: 'utf8', timeout: 300_000 });
      expect(one.status, one.stderr).to.equal(0);
      const two = await mpirun(train([...scaled, '--parallel', 'hybrid', '--out', join(dir, 'hybrid-scaled')]));
      expect(two.code, two.stderr).to.equal(0);
      expect(two.stderr).to.include('loss scale dynamic from 65536');
      const [a, b] = [await loadCheckpoint(join(dir, 'one-scaled', 'last.safetensors')), await loadCheckpoint(join(dir, 'hybrid-scaled', 'last.safetensors'))];
      expect(a.state!.lossScale).to.deep.include({ scale: 65536, skippedSteps: 0 });
      expect(b.state!.lossScale).to.deep.equal(a.state!.lossScale);
      expect(await weightDifference(join(dir, 'one-scaled', 'last.safetensors'), join(dir, 'hybrid-scaled', 'last.safetensors'))).to.be.below(1e-5);
    });

    it('--precision bf16 in the hybrid with --devices follows the float32 run: the mean loss within 2%, the weights not equal', async function () {
      if (!bf16Support('cpu').supported || !existsSync(join(dir, 'one-columns', 'last.safetensors'))) this.skip();
      const two = await mpirun(train([...args, '--devices', 'cpu:0,cpu:1', '--max-steps', '5', '--parallel', 'hybrid', '--precision', 'bf16', '--out', join(dir, 'hybrid-bf16')]));
      expect(two.code, two.stderr).to.equal(0);
      expect(two.stderr).to.include('precision bf16');
      const [fp32, bf16] = [await loadCheckpoint(join(dir, 'one-columns', 'last.safetensors')), await loadCheckpoint(join(dir, 'hybrid-bf16', 'last.safetensors'))];
      const meanLoss = (c: typeof fp32) => c.state!.epochLoss.sum / c.state!.epochLoss.count;
      expect(bf16.state!.epochLoss.count).to.equal(5);
      expect(Math.abs(meanLoss(bf16) - meanLoss(fp32)) / meanLoss(fp32), `bf16 ${meanLoss(bf16)} fp32 ${meanLoss(fp32)}`).to.be.below(0.02);
      // (A weight bound says little here: a bias that moved little from zero differs by a large
      // fraction of its own size.)
      const difference = await weightDifference(join(dir, 'one-columns', 'last.safetensors'), join(dir, 'hybrid-bf16', 'last.safetensors'));
      expect(difference, 'bf16 really computed in bfloat16').to.be.above(1e-6);
    });

    it('writes the one-process layout: its checkpoint resumes in one process, and one process\'s resumes in the hybrid', async function () {
      if (!existsSync(join(dir, 'hybrid', 'last.safetensors'))) this.skip();
      const reference = spawnSync(process.execPath, [CLI, 'train', ...args, '--max-steps', '8', '--out', join(dir, 'one8')], { encoding: 'utf8', timeout: 300_000 });
      expect(reference.status, reference.stderr).to.equal(0);
      cpSync(join(dir, 'hybrid'), join(dir, 'hybrid-then-one'), { recursive: true });
      const alone = spawnSync(process.execPath, [CLI, 'train', '--resume', '--out', join(dir, 'hybrid-then-one'), '--max-steps', '8', '--progress', 'none'],
        { encoding: 'utf8', timeout: 300_000 });
      expect(alone.status, alone.stderr).to.equal(0);
      cpSync(join(dir, 'one'), join(dir, 'one-then-hybrid'), { recursive: true });
      const split = await mpirun(train(['--resume', '--out', join(dir, 'one-then-hybrid'), '--max-steps', '8', '--progress', 'none', '--parallel', 'hybrid']));
      expect(split.code, split.stderr).to.equal(0);
      for (const run of ['hybrid-then-one', 'one-then-hybrid'])
        expect(await weightDifference(join(dir, 'one8', 'last.safetensors'), join(dir, run, 'last.safetensors')), run).to.be.below(1e-5);
    });
  });
});
