// The scaling model's arithmetic (bench/scaling_model.ts): sizes from the model spec, the ring
// formulas, overlapped buckets on a case worked by hand, and what it says of the paper's AlexNet;
// then the script itself, which must reject bad flags by name.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alexnetParameterShapes, alexnetSpec, preset, resolveAlexNetOptions } from '../lib/models/index.js';
import {
  allGatherTime, allReduceTime, bucketedAllReduce, dataParallelStep, hybridByteCrossover, hybridStep, layerProfiles, project,
  ringAllReduceBytes, rooflineTimer, type Fabric, type LayerProfile, type Timer,
} from '../bench/scaling_model.js';

const script = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'bench', 'scaling.js');
const paper = layerProfiles(alexnetSpec(resolveAlexNetOptions(preset('paper').model)));
const sum = (ls: LayerProfile[], f: (l: LayerProfile) => number): number => ls.reduce((s, l) => s + f(l), 0);
const link = { bandwidth: 1e9, latency: 0 };
const fabric = (bandwidth: number): Fabric => ({ gpusPerNode: 8, nvlink: { bandwidth: 100 * bandwidth, latency: 0 }, network: { bandwidth, latency: 0 } });

/** Two layers whose times are their FLOPs in milliseconds, with a free update: easy to work by hand. */
const tiny: LayerProfile[] = [
  { name: 'conv', kind: 'conv', params: 1000, inValues: 10, outValues: 10, fwdFlops: 1, bwdFlops: 2, inputGrad: false, modelParallel: false },
  { name: 'fc', kind: 'linear', params: 4000, inValues: 10, outValues: 5, fwdFlops: 1, bwdFlops: 2, inputGrad: true, modelParallel: true },
];
const msTimer: Timer = {
  layer: (l, rows, shard) => ({ fwd: rows * shard * l.fwdFlops * 1e-3, bwd: rows * shard * l.bwdFlops * 1e-3 }),
  update: () => 0,
};

describe('scaling model', () => {
  it('takes parameters and FLOPs from the model spec', () => {
    const total = sum(paper, (l) => l.params);
    const fromShapes = alexnetParameterShapes(preset('paper').model).reduce((s, [, shape]) => s + shape.reduce((a, b) => a * b, 1), 0);
    expect(total).to.equal(fromShapes);
    expect(total).to.equal(60_965_224);
    // fc6–fc8 hold 58.6 M of the 61 M parameters: why data parallelism moves so many bytes.
    expect(sum(paper.filter((l) => l.modelParallel), (l) => l.params)).to.equal(58_631_144);
    expect(paper.filter((l) => l.modelParallel).map((l) => l.name)[0]).to.equal('fc6');
    const conv1 = paper.find((l) => l.name === 'conv1')!;
    expect(conv1.fwdFlops).to.equal(2 * (96 * 55 * 55) * (3 * 11 * 11));
    expect(conv1.bwdFlops).to.equal(conv1.fwdFlops); // no input gradient for the image
    const conv2 = paper.find((l) => l.name === 'conv2')!; // groups 2: each output reads 48 channels
    expect(conv2.fwdFlops).to.equal(2 * (256 * 27 * 27) * (48 * 5 * 5));
    expect(conv2.bwdFlops).to.equal(2 * conv2.fwdFlops);
    expect(paper.find((l) => l.name === 'fc6')!.inValues).to.equal(9216);
  });

  it('uses the ring formulas: 2(N−1)/N·S for an all-reduce, (N−1)/N·S for an all-gather', () => {
    expect(ringAllReduceBytes(1000, 4)).to.equal(1500);
    expect(ringAllReduceBytes(1000, 1)).to.equal(0);
    expect(allReduceTime(4e6, 4, { bandwidth: 1e9, latency: 1e-6 })).to.be.closeTo(6e-6 + 6e-3, 1e-12);
    expect(allGatherTime(4e6, 4, { bandwidth: 1e9, latency: 1e-6 })).to.be.closeTo(3e-6 + 3e-3, 1e-12);
    expect(allReduceTime(4e6, 1, link)).to.equal(0);
  });

  it('starts each bucket when its last gradient is ready and the previous one is done', () => {
    const buckets = bucketedAllReduce([{ ready: 1, bytes: 10 }, { ready: 2, bytes: 10 }, { ready: 3, bytes: 30 }, { ready: 9, bytes: 5 }], 20, (b) => b / 10);
    expect(buckets).to.deep.equal([
      { bytes: 20, ready: 2, start: 2, end: 4 },
      { bytes: 30, ready: 3, start: 4, end: 7 }, // waited for the channel
      { bytes: 5, ready: 9, start: 9, end: 9.5 }, // the rest, however small
    ]);
  });

  it('overlaps data-parallel gradients with backward, and only what is left shows', () => {
    // Batch 1000: forward 2 s; backward fc 2 s (4000 params = 16 kB ready at 2 s) then conv 2 s (4 kB at 4 s).
    const step = (bandwidth: number): number =>
      dataParallelStep(tiny, { gpus: 2, batch: 1000, timer: msTimer, link: { bandwidth, latency: 0 }, bucketBytes: 0, bytesPerValue: 4 }).seconds;
    // fc's 16 ms of all-reduce hide under conv's backward; conv's 4 ms, the last gradient, cannot.
    expect(step(1e6)).to.be.closeTo(2 + 4 + 0.004, 1e-9);
    // 16 kB at 8 B/s = 2000 s starting at 2 s; then 4 kB: 500 s; forward 2 s before it.
    expect(step(8)).to.be.closeTo(2 + 2 + 2000 + 500, 1e-6);
  });

  it('gives the hybrid its activation exchanges and no fc weight traffic', () => {
    const s = hybridStep(tiny, { gpus: 4, batch: 100, timer: msTimer, link, bucketBytes: 0, bytesPerValue: 4 });
    // fc input of 4·100 rows × 10 values gathered and its gradient scattered, the logits there and back, conv's 4 kB all-reduced.
    const expected = 2 * (3 / 4) * 400 * 10 * 4 + 2 * (3 / 4) * (400 * 5 * 4) / 4 + (2 * 3 / 4) * 4000;
    expect(s.bytesSent).to.be.closeTo(expected, 1e-9);
    expect(s.compute).to.be.closeTo(0.1 + 0.1 + 0.2 + 0.2, 1e-12); // fc: 400 rows × 1/4 of the features
  });

  it('has efficiency 1 on one GPU, weak and strong, in both modes', () => {
    const timer = rooflineTimer({ flops: 1e14, memoryBandwidth: 3e12, bytesPerValue: 4 });
    for (const scaling of [{ batchPerGpu: 128 }, { globalBatch: 128 }]) {
      const [one, eight] = project(paper, { ...scaling, gpuCounts: [1, 8], timer, fabric: fabric(1e10), bucketBytes: 25 * 2 ** 20, bytesPerValue: 4 });
      expect(one!.dataParallel.efficiency).to.equal(1);
      expect(one!.hybrid.efficiency).to.be.closeTo(1, 1e-12);
      expect(one!.dataParallel.bytesSent).to.equal(0);
      expect(eight!.dataParallel.efficiency).to.be.below(1);
    }
  });

  it('says the hybrid moves fewer bytes than data parallel for the paper\'s AlexNet up to ~26 GPUs at 128 per GPU, more beyond', () => {
    const crossover = hybridByteCrossover(paper, 128);
    expect(crossover).to.be.within(25, 28);
    const rows = project(paper, { batchPerGpu: 128, gpuCounts: [2, 8, 16, 32, 64], timer: msTimer, fabric: fabric(1e10), bucketBytes: 0, bytesPerValue: 4 });
    for (const r of rows) {
      const fewer = r.hybrid.bytesSent < r.dataParallel.bytesSent;
      expect(fewer, `${r.gpus} GPUs`).to.equal(r.gpus < crossover);
    }
    // A fixed global batch of 128: the gathered activations shrink with the per-GPU batch, the gradients do not.
    const strong = project(paper, { globalBatch: 128, gpuCounts: [64], timer: msTimer, fabric: fabric(1e10), bucketBytes: 0, bytesPerValue: 4 });
    expect(strong[0]!.hybrid.bytesSent).to.be.below(strong[0]!.dataParallel.bytesSent / 10);
  });

  describe('bench/scaling.js', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' });

    it('prints the projection and writes the markdown section', () => {
      const file = join(mkdtempSync(join(tmpdir(), 'alexnet-scaling-')), 'scaling.md');
      const r = run('--markdown', file);
      expect(r.status, r.stderr).to.equal(0);
      const md = readFileSync(file, 'utf8');
      expect(md).to.match(/^## Scaling model \(projection, not measurement\)/);
      expect(md).to.match(/^\| 64 \| 400 Gb\/s \| 128 \|/m);
      expect(md).to.include('58.63 M (96.2%)');
    });

    it('rejects bad flags and files by name', () => {
      const cases: [string[], RegExp][] = [
        [['--gpus-per-node', '0'], /--gpus-per-node must be an integer in \[1, Infinity\], got "0"/],
        [['--gpus', '1,x'], /--gpus must be an integer/],
        [['--compute-efficiency', '1.5'], /--compute-efficiency must be a number in \[0.000001, 1\]/],
        [['--precision', 'fp8'], /--precision must be one of fp32, tf32, bf16/],
        [['--preset', 'nope'], /preset must be one of/],
        [['--times', '/nonexistent/times.json'], /--times \/nonexistent\/times.json: cannot read it as JSON/],
      ];
      for (const [args, message] of cases) {
        const r = run(...args);
        expect(r.status, args.join(' ')).to.equal(1);
        expect(r.stderr, args.join(' ')).to.match(message);
      }
      const dir = mkdtempSync(join(tmpdir(), 'alexnet-scaling-'));
      const partial = join(dir, 'times.json');
      writeFileSync(partial, JSON.stringify({ preset: 'paper', batch: 8, layers: { conv1: { fwdMs: 1, bwdMs: 2 } } }));
      const bad: [unknown, RegExp][] = [
        [{ preset: 'paper', batch: 8, layers: { conv1: { fwdMs: 1, bwdMs: 2 } } }, /no measured fwdMs and bwdMs .* for layer 'relu1'/],
        [{ preset: 'paper', batch: 0, layers: {} }, /batch must be a positive number, got 0/],
        [null, /expected an object with 'batch' and 'layers'/],
        [{ preset: 'fashion-mnist-quick', batch: 8, layers: {} }, /holds times of preset 'fashion-mnist-quick', not 'paper'/],
      ];
      for (const [content, message] of bad) {
        writeFileSync(partial, JSON.stringify(content));
        const r = run('--times', partial);
        expect(r.status, JSON.stringify(content)).to.equal(1);
        expect(r.stderr, JSON.stringify(content)).to.match(message);
      }
    });
  });
});
