// Data parallelism: the process group of one process (no MPI needed), the pieces that make N ranks
// compute what one process does (dropout at an element offset, sharded loaders, gradient buckets
// started during the backward pass), the typed errors of missing transports, and, where Open MPI's
// mpirun is installed (CI installs it), 2-rank runs of `alexnet train`: the same weights as one
// process, an interrupted and resumed run bit-identical to an uninterrupted one, and a lost rank
// ending the job with its name within 60 s.
import { expect } from 'chai';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { arrayDataset, createLoader, FASHION_MNIST_DIR } from '../lib/data/index.js';
import { GradientReducer, initDistributed, transportInfo, type ProcessGroup } from '../lib/distributed/index.js';
import { AlexNetError } from '../lib/errors.js';
import { loadCheckpoint } from '../lib/io/index.js';
import { alexnet } from '../lib/models/index.js';
import { Dropout } from '../lib/nn/index.js';
import * as ops from '../lib/ops/index.js';
import { Tensor } from '../lib/tensor.js';
import { CLI } from './helpers/cli.js';
import { mpiMissing } from './helpers/mpi.js';

const haveData = existsSync(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'));
// Open MPI refuses root without these (CI containers run as root); they change nothing otherwise.
const MPI_ENV = { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' };

async function floats(t: Tensor): Promise<number[]> {
  return Array.from((await t.toArray()) as Float32Array);
}

describe('process group of one process', () => {
  it('initDistributed without mpirun is a group of one whose collectives change nothing', async () => {
    const group = await initDistributed();
    expect([group.rank, group.size, group.localRank]).to.deep.equal([0, 1, 0]);
    expect(group.transports).to.deep.equal({ cpu: 'none', cuda: 'none' });
    expect(await initDistributed()).to.deep.include({ rank: 0, size: 1 });
    const t = Tensor.fromArray(Float32Array.of(1.5, -2), [2]);
    group.allReduce([t], { op: 'mean' }).wait();
    group.broadcast([t], { root: 0 }).wait();
    await group.barrier();
    expect(await floats(t)).to.deep.equal([1.5, -2]);
    expect(await group.sumNumbers([3, 0.1])).to.deep.equal([3, 0.1]);
    expect(() => group.broadcast([t], { root: 1 })).to.throw(RangeError, /options\.root/);
    expect(() => group.allReduce([])).to.throw(TypeError, /tensors must be a non-empty array/);
    expect(() => group.allReduce([t], { op: 'max' as 'sum' })).to.throw(TypeError, /options\.op/);
    t.dispose();
  });

  it('transportInfo says whether MPI and NCCL can be loaded here', () => {
    const info = transportInfo();
    expect(info.mpi).to.match(/^(available: .+|unavailable: .+)$/);
    expect(info.nccl).to.match(/^(available: .+|unavailable: .+)$/);
  });

  it('a group of several processes without the MPI module is MPI_UNAVAILABLE with the install hint, not a crash', () => {
    const script = `const { initDistributed } = await import(${JSON.stringify(new URL('../lib/index.js', import.meta.url).href)});
      try { await initDistributed(); console.log('formed'); }
      catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8', timeout: 60_000,
      env: { ...process.env, OMPI_COMM_WORLD_SIZE: '2', OMPI_COMM_WORLD_RANK: '0', ALEXNET_MPI_MODULE: '/nonexistent/libalexnet_mpi.so' },
    });
    expect(r.status, r.stderr).to.equal(0);
    const e = JSON.parse(r.stdout) as { name: string; code: string; message: string };
    expect(e).to.include({ name: 'AlexNetError', code: 'MPI_UNAVAILABLE' });
    expect(e.message).to.include('/nonexistent/libalexnet_mpi.so').and.to.include('apt install libopenmpi-dev');
  });

  it('NCCL without a GPU is NCCL_UNAVAILABLE naming what was looked for', async function () {
    const { requireNccl } = await import('../lib/distributed/index.js');
    if (transportInfo().nccl.startsWith('available')) this.skip();
    try {
      requireNccl();
      expect.fail('requireNccl() did not throw');
    } catch (e) {
      expect(e).to.be.instanceOf(AlexNetError);
      expect((e as AlexNetError).code).to.equal('NCCL_UNAVAILABLE');
      expect((e as AlexNetError).hint).to.include('nvidia-nccl-cu13');
    }
  });
});

describe('what makes N ranks compute what one process does', () => {
  it('dropout rows drawn alone with an element offset get the mask of those rows in the whole batch', async () => {
    const rows = 6, cols = 7;
    const x = Tensor.fromArray(Float32Array.from({ length: rows * cols }, (_, i) => i + 1), [rows, cols]);
    const whole = ops.dropout(x, { p: 0.5, seed: 42 });
    const wholeMask = await floats(whole.mask);
    const part = Tensor.fromArray(Float32Array.from({ length: 2 * cols }, (_, i) => 3 * cols + i + 1), [2, cols]);
    const alone = ops.dropout(part, { p: 0.5, seed: 42, offset: 3 * cols });
    expect(await floats(alone.mask)).to.deep.equal(wholeMask.slice(3 * cols, 5 * cols));
    expect(await floats(ops.dropout(part, { p: 0.5, seed: 42 }).mask)).to.not.deep.equal(wholeMask.slice(3 * cols, 5 * cols));
    expect(() => ops.dropout(part, { p: 0.5, seed: 1, offset: -1 })).to.throw(RangeError, /offset/);
    // The layer: rowOffset set on the module tree draws the rows' share of the global mask.
    const layer = new Dropout(0.5, 42);
    layer.setRowOffset(3);
    const y = layer.forward(part);
    expect(await floats(y)).to.deep.equal((await floats(whole.y)).slice(3 * cols, 5 * cols));
    expect(() => layer.setRowOffset(-1)).to.throw(RangeError, /row/);
    for (const t of [x, part, whole.y, whole.mask, alone.y, alone.mask, y]) t.dispose();
    layer.release();
  });

  it('the shards of a sharded loader, put together, are the unsharded batches (images, draws, labels, order)', async () => {
    const count = 37, size = 10;
    const pixels = Uint8Array.from({ length: count * size * size * 3 }, (_, i) => (i * 7919) % 251);
    const labels = Int32Array.from({ length: count }, (_, i) => i % 4);
    const ds = arrayDataset(pixels, labels, [count, size, size, 3]);
    const common = { batchSize: 8, seed: 5, workers: 2, size, crop: 8 } as const;
    for (const train of [true, false]) {
      // Training: random crops, flips and PCA colour noise from the training statistics.
      const mean = train ? 'pixel' : 'none';
      const whole = await createLoader(ds, { ...common, train, mean });
      const shards = await Promise.all([0, 1, 2].map((index) =>
        createLoader(ds, { ...common, train, mean, stats: whole.datasetStats ?? undefined, shard: { index, count: 3 } })));
      try {
        expect(shards.map((s) => s.shard)).to.deep.equal([0, 1, 2].map((index) => ({ index, count: 3 })));
        const collect = async (l: typeof whole) => {
          const out = [];
          for await (const b of l.epoch(1)) out.push(b);
          return out;
        };
        const want = await collect(whole);
        const got = await Promise.all(shards.map(collect));
        // The last evaluation batch of 5 images leaves one rank an empty share, which is not given.
        for (let b = 0; b < want.length; b++) {
          const parts = got.map((g) => g[b]).filter((p) => p !== undefined && p.labels.length > 0);
          const joined = (key: 'images' | 'labels' | 'indices') => parts.flatMap((p) => Array.from(p![key]));
          expect(joined('indices'), `train ${train} batch ${b}`).to.deep.equal(Array.from(want[b]!.indices));
          expect(joined('labels')).to.deep.equal(Array.from(want[b]!.labels));
          expect(joined('images')).to.deep.equal(Array.from(want[b]!.images));
          expect(parts[0]!.labels.length).to.equal(Math.floor(want[b]!.labels.length / 3));
        }
      } finally {
        await whole.close();
        for (const s of shards) await s.close();
      }
    }
    let refused: unknown;
    try {
      await (await createLoader(ds, { ...common, shard: { index: 3, count: 3 } })).close();
    } catch (e) {
      refused = e;
    }
    expect(refused).to.be.instanceOf(RangeError);
    expect((refused as Error).message).to.match(/options\.shard\.index/);
  });

  it('gradient buckets start while the backward pass is still being queued, last layers first', () => {
    const model = alexnet({ numClasses: 10, inChannels: 1, inputSize: 64, width: 0.25, conv1Stride: 4, init: 'he', seed: 1 });
    const events: string[] = [];
    const fakeGroup = {
      rank: 0, size: 2,
      allReduce: (tensors: Tensor[]) => {
        events.push(`reduce ${tensors.length}`);
        return { wait: () => { events.push('wait'); } };
      },
    } as unknown as ProcessGroup;
    const params = model.namedParameters();
    const reducer = new GradientReducer(fakeGroup, params, { bucketBytes: 64 << 10 });
    expect(reducer.buckets.length).to.be.above(2);
    expect(reducer.buckets[0]![0]).to.match(/^fc8\./);
    expect(reducer.buckets.at(-1)!.at(-1)).to.equal('conv1.weight');
    for (const [name, p] of params) {
      const hook = p.onGrad!;
      p.onGrad = (q) => { events.push(`grad ${name}`); hook(q); };
    }
    const x = Tensor.zeros([4, 1, 64, 64]);
    reducer.beginStep();
    const logits = model.forward(x);
    model.backward(Tensor.zeros(logits.shape))?.dispose();
    reducer.finish();
    const firstReduce = events.findIndex((e) => e.startsWith('reduce'));
    expect(firstReduce, events.join('\n')).to.be.below(events.indexOf('grad conv1.weight'));
    expect(events.filter((e) => e.startsWith('reduce')).length).to.equal(reducer.buckets.length);
    expect(events.slice(-reducer.buckets.length)).to.deep.equal(Array(reducer.buckets.length).fill('wait'));
    reducer.dispose();
    x.dispose();
    logits.dispose();
    model.dispose();
  });
});

interface MpiResult { code: number | null; stdout: string; stderr: string; seconds: number }

/** `mpirun -n 2 node main.js <args>`; `onStart` gets mpirun's process once it runs. */
function mpiTrain(args: string[], options: { mca?: string[]; env?: Record<string, string>; onStart?: (pid: number, stderr: () => string) => void } = {}): Promise<MpiResult> {
  const env = { ...MPI_ENV, ...options.env };
  const exported = Object.keys(options.env ?? {}).flatMap((k) => ['-x', k]);
  const mca = (options.mca ?? []).flatMap((m) => ['--mca', ...m.split(' ')]);
  const started = Date.now();
  const child = spawn('mpirun', ['-n', '2', '--oversubscribe', ...mca, ...exported, process.execPath, CLI, 'train', ...args],
    { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  options.onStart?.(child.pid!, () => stderr);
  return new Promise((resolve) => {
    child.on('close', (code) => resolve({ code, stdout, stderr, seconds: (Date.now() - started) / 1000 }));
  });
}

function runSingle(args: string[]): { code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'train', ...args], { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stderr: r.stderr };
}

/** The largest relative difference over the weight tensors of two checkpoints (max |a - b| / max |a|). */
async function weightDifference(a: string, b: string): Promise<{ relative: number; identical: boolean }> {
  const [x, y] = [await loadCheckpoint(a), await loadCheckpoint(b)];
  let relative = 0;
  let identical = true;
  for (const [name, t] of Object.entries(x.weights)) {
    const u = y.weights[name]!;
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < t.data.length; i++) {
      diff = Math.max(diff, Math.abs(t.data[i]! - u.data[i]!));
      scale = Math.max(scale, Math.abs(t.data[i]!));
      if (!Object.is(t.data[i], u.data[i])) identical = false;
    }
    relative = Math.max(relative, diff / Math.max(scale, 1e-30));
  }
  return { relative, identical };
}

/** The pid of rank `rank` among mpirun's children (Open MPI puts the rank in their environment). */
function rankPid(mpirun: number, rank: number): number | null {
  const children = spawnSync('ps', ['-o', 'pid=', '--ppid', String(mpirun)], { encoding: 'utf8' }).stdout.trim().split(/\s+/).filter(Boolean);
  for (const pid of children) {
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`OMPI_COMM_WORLD_RANK=${rank}`)) return Number(pid);
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

async function until<T>(get: () => T | null | false, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v) return v;
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('collectives from C++ without Node', () => {
  it('ranks on one machine share its cores unless the user chose a thread count', function () {
    if (mpiMissing) {
      console.log(`      (skipped: ${mpiMissing})`);
      this.skip();
    }
    const lib = new URL('../lib/index.js', import.meta.url).href;
    const source = `const m = await import(${JSON.stringify(lib)}); await m.initDistributed();
      process.stdout.write('threads ' + m.numThreads() + '\\n'); process.exit(0);`;
    const run = (env: Record<string, string>) => spawnSync('mpirun', ['-n', '2', '--oversubscribe', ...Object.keys(env).flatMap((k) => ['-x', k]),
      process.execPath, '--input-type=module', '-e', source], { encoding: 'utf8', timeout: 120_000, env: { ...MPI_ENV, ...env } });
    const shared = run({});
    expect(shared.status, shared.stderr).to.equal(0);
    const share = String(Math.max(1, Math.floor(availableParallelism() / 2)));
    expect(shared.stdout.match(/threads (\d+)/g), shared.stdout).to.deep.equal([`threads ${share}`, `threads ${share}`]);
    const chosen = run({ OMP_NUM_THREADS: '3' });
    expect(chosen.stdout.match(/threads (\d+)/g), chosen.stderr).to.deep.equal(['threads 3', 'threads 3']);
  });

  it('the all-reduce example averages over 2 ranks under mpirun, and is a group of one alone', function () {
    const example = join(dirname(CLI), '..', '..', '..', 'build', 'Release', 'alexnet_example_allreduce');
    if (!existsSync(example)) this.skip();
    const alone = spawnSync(example, [], { encoding: 'utf8', timeout: 60_000 });
    expect(alone.stdout, alone.stderr).to.include('rank 0 of 1 (none): mean [1, 10]');
    if (mpiMissing) {
      console.log(`      (the 2-rank half skipped: ${mpiMissing})`);
      return;
    }
    const two = spawnSync('mpirun', ['-n', '2', '--oversubscribe', example], { encoding: 'utf8', timeout: 120_000, env: MPI_ENV });
    expect(two.status, two.stderr).to.equal(0);
    expect(two.stdout).to.include('rank 0 of 2 (mpi): mean [1.5, 15]').and.to.include('rank 1 of 2 (mpi): mean [1.5, 15]');
  });
});

describe('alexnet train under mpirun -n 2 (Fashion-MNIST, CPU)', function () {
  this.timeout(300_000);
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-mpi-'));
  const quick = ['--preset', 'fashion-mnist-quick', '--seed', '3', '--progress', 'none'];

  before(function () {
    if (!haveData) this.skip();
    if (mpiMissing) {
      console.log(`      (skipped: ${mpiMissing})`);
      this.skip();
    }
  });

  /** Trains 5 steps (dropout on) in one process and under mpirun -n 2; the weights must agree within 1e-5. */
  async function twoRanksMatchOne(name: string, extra: string[], header: string): Promise<void> {
    const args = [...quick, '--limit', '4096', '--epochs', '2', '--max-steps', '5', ...extra];
    const one = runSingle([...args, '--out', join(dir, `${name}-one`)]);
    expect(one.code, one.stderr).to.equal(0);
    const two = await mpiTrain([...args, '--out', join(dir, `${name}-two`)]);
    expect(two.code, two.stderr).to.equal(0);
    expect(two.stderr).to.include(header);
    const { relative } = await weightDifference(join(dir, `${name}-one`, 'last.safetensors'), join(dir, `${name}-two`, 'last.safetensors'));
    expect(relative).to.be.below(1e-5);
    const state = JSON.parse(readFileSync(join(dir, `${name}-two`, 'last.json'), 'utf8')) as { step: number };
    expect(state.step).to.equal(5);
  }

  it('2 ranks give the weights of one process within 1e-5 (5 steps, dropout on)', async () => {
    await twoRanksMatchOne('plain', [], '(cpu, 2 ranks over mpi)');
  });

  it('the two columns compose with data parallelism: each of 2 ranks holds both columns, and the weights are one process\'s within 1e-5', async () => {
    await twoRanksMatchOne('columns', ['--devices', 'cpu:0,cpu:1'], 'two columns on cpu:0 + cpu:1, 2 ranks over mpi');
  });

  it('with dynamic loss scaling, 2 ranks keep one process\'s weights within 1e-5 and its scale', async () => {
    await twoRanksMatchOne('scaled', ['--loss-scale', 'dynamic'], '(cpu, 2 ranks over mpi)');
    const scaleOf = (run: string) => (JSON.parse(readFileSync(join(dir, run, 'last.json'), 'utf8')) as { lossScale?: unknown }).lossScale;
    expect(scaleOf('scaled-two')).to.deep.equal(scaleOf('scaled-one'));
    expect(scaleOf('scaled-two')).to.deep.include({ scale: 65536, skippedSteps: 0 });
  });

  it('SIGINT to mpirun, then --resume, gives the weights of an uninterrupted 2-rank run bit for bit', async () => {
    // A run of 12 epochs (longer than Open MPI's delay before it passes the interrupt on, even on
    // an idle machine), cut short: wherever the interrupt lands, the run continues a few steps past
    // it (into the next epoch, across an evaluation, when it lands near an epoch's end), and one
    // uninterrupted run to that step must give the same weights.
    const args = [...quick, '--limit', '2048', '--epochs', '12'];
    const cut = join(dir, 'cut');
    // Open MPI passes Ctrl-C on as SIGTERM after odls_base_sigkill_timeout seconds, and kills as long after.
    const interrupted = await mpiTrain([...args, '--out', cut], {
      mca: ['odls_base_sigkill_timeout 4'],
      onStart: (pid) => {
        void until(() => existsSync(join(cut, 'metrics.jsonl')), 120_000).then(() => process.kill(pid, 'SIGINT'));
      },
    });
    expect(interrupted.stderr, interrupted.stderr).to.include('interrupted (SIGTERM)').and.to.include('stopped; continue with');
    const state = JSON.parse(readFileSync(join(cut, 'last.json'), 'utf8')) as { step: number };
    expect(state.step, 'the run was interrupted before its end').to.be.within(1, 12 * 16 - 1);
    const end = String(state.step + 3);
    const resumed = await mpiTrain(['--resume', '--out', cut, '--max-steps', end, '--progress', 'none']);
    expect(resumed.code, resumed.stderr).to.equal(0);
    const whole = await mpiTrain([...args, '--max-steps', end, '--out', join(dir, 'whole')]);
    expect(whole.code, whole.stderr).to.equal(0);
    const { identical } = await weightDifference(join(dir, 'whole', 'last.safetensors'), join(cut, 'last.safetensors'));
    expect(identical).to.equal(true);
  });

  it('a killed rank ends the job with a non-zero status naming it, within 60 s', async () => {
    let killedAt = 0;
    const r = await mpiTrain([...quick, '--limit', '2048', '--epochs', '3', '--out', join(dir, 'killed')], {
      onStart: (pid) => {
        void until(() => existsSync(join(dir, 'killed', 'metrics.jsonl')) && rankPid(pid, 1), 120_000).then((victim) => {
          killedAt = Date.now();
          process.kill(victim, 'SIGKILL');
        });
      },
    });
    expect(killedAt).to.be.above(0);
    expect(r.code).to.not.equal(0);
    expect((Date.now() - killedAt) / 1000).to.be.below(60);
    expect(r.stderr).to.match(/rank 1\b/);
  });

  it('a stopped (hung) rank makes the other report RANK_LOST naming it and end the job, within 60 s', async () => {
    let stoppedAt = 0;
    let victim = 0;
    const r = await mpiTrain([...quick, '--limit', '2048', '--epochs', '3', '--out', join(dir, 'hung')], {
      env: { ALEXNET_DIST_TIMEOUT: '5' },
      onStart: (pid) => {
        // After the first epoch's line: training steps, not the start-up broadcast, are running.
        const metrics = join(dir, 'hung', 'metrics.jsonl');
        void until(() => existsSync(metrics) && readFileSync(metrics, 'utf8').includes('\n') && rankPid(pid, 1), 120_000).then((p) => {
          victim = p;
          stoppedAt = Date.now();
          process.kill(p, 'SIGSTOP');
        });
      },
    });
    if (victim) try { process.kill(victim, 'SIGKILL'); } catch { /* ended with the job */ }
    expect(stoppedAt).to.be.above(0);
    expect(r.code).to.not.equal(0);
    expect((Date.now() - stoppedAt) / 1000).to.be.below(60);
    // A rank stopped between collectives is named as one that never reached the next; one stopped
    // inside a transfer it had joined, as the one that did not answer the roll call after it.
    expect(r.stderr, r.stderr).to.include('RANK_LOST').and.to.include('lost rank 1');
  });
});
