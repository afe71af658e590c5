// A failed op poisons its outputs: reading them, or anything computed from them, rejects with the
// op's own error, while unrelated work and reads are unaffected. And each stream bounds the work
// queued on it, so a script that never awaits cannot outrun memory.
import { expect } from 'chai';
import { runChild } from './helpers/child_ops.js';
import { Tensor, ops, synchronize } from '../lib/index.js';
import { rejection } from './helpers/rejection.js';


const badLabels = () => Tensor.fromArray(new Int32Array([0, 7]), [2]); // 7 is not one of 3 classes
const badCropParams = () => Tensor.fromArray(new Float32Array([5, 0, 0, 0, 0, 0]), [1, 6]); // top 5 of a 2x2 image

describe('failed ops poison their outputs', () => {
  it('dlogits of a loss with an out-of-range label rejects with that error even when loss is never awaited', async () => {
    const { dlogits } = ops.softmaxCrossEntropy(Tensor.zeros([2, 3]), badLabels());
    const e = await rejection(dlogits.toArray());
    expect(e.code).to.equal('INVALID_ARGUMENT');
    expect(e.message).to.match(/label 7 of row 1 is outside \[0, 3\)/);
  });

  it('anything computed from a poisoned tensor carries the original error, across ops, reshapes and devices', async () => {
    const { dlogits } = ops.softmaxCrossEntropy(Tensor.zeros([2, 3]), badLabels());
    const derived = ops.scale(ops.relu(dlogits), 2).reshape([3, 2]);
    expect((await rejection(derived.toArray())).message).to.match(/label 7 of row 1/);
    expect((await rejection(ops.clone(derived).to('cpu:1').toArray())).message).to.match(/label 7 of row 1/);
    // In place: an update from a poisoned gradient poisons the parameter and its velocity.
    const param = Tensor.zeros([2, 3]);
    const velocity = Tensor.zeros([2, 3]);
    ops.sgdStep(param, velocity, dlogits, { lr: 0.1 });
    expect((await rejection(param.toArray())).message).to.match(/label 7 of row 1/);
    expect((await rejection(velocity.toArray())).message).to.match(/label 7 of row 1/);
    // Overwriting the whole tensor clears it.
    ops.fill(param, 2);
    expect(Array.from(await param.toArray())).to.deep.equal([2, 2, 2, 2, 2, 2]);
  });

  it('a bad crop that is never read does not fail unrelated reads or synchronize', async () => {
    const images = Tensor.fromArray(new Uint8Array(12), [1, 2, 2, 3]);
    const crop = ops.cropImages(images, badCropParams(), { crop: 1 });
    const unrelated = ops.relu(Tensor.fromArray(new Float32Array([-1, 2]), [2]));
    expect(Array.from(await unrelated.toArray())).to.deep.equal([0, 2]);
    await synchronize('cpu');
    const e = await rejection(crop.toArray());
    expect(e.message).to.match(/params row 0 \(top 5.*is not a 1x1 window inside the 2x2 image/);
    // And the poison stays with the crop: reading it again rejects again.
    await rejection(crop.toArray());
  });

  it('poison goes to every output of the failed op, and only to them', async () => {
    const logits = Tensor.zeros([2, 3]);
    const before = ops.relu(logits);
    const { loss, dlogits } = ops.softmaxCrossEntropy(logits, badLabels());
    const after = ops.relu(logits);
    await rejection(loss);
    await rejection(dlogits.toArray());
    expect(Array.from(await before.toArray())).to.deep.equal([0, 0, 0, 0, 0, 0]);
    expect(Array.from(await after.toArray())).to.deep.equal([0, 0, 0, 0, 0, 0]);
    expect(Array.from(await logits.toArray())).to.deep.equal([0, 0, 0, 0, 0, 0]);
  });
});

describe('bounded queues', () => {
  it('a loop that never awaits keeps its memory near the documented bound (child process)', async () => {
    // 150 iterations of a 4 MiB normal + relu with dispose(): 1.2 GB of blocks if nothing waited.
    const r = await runChild(`
      const { Tensor, ops, allocatorStats } = lib;
      let ticks = 0;
      const timer = setInterval(() => { ticks++; }, 1);
      for (let i = 0; i < 150; i++) {
        const t = Tensor.normal([1024, 1024], { seed: i });
        const y = ops.relu(t);
        t.dispose();
        y.dispose();
      }
      const last = ops.relu(Tensor.full([4], -1));
      const values = await last.toArray();
      clearInterval(timer);
      const s = allocatorStats('cpu');
      report({ held: s.bytesInUse + s.bytesCached, allocations: s.systemAllocations, values: Array.from(values) });
    `, { timeoutMs: 120000 });
    expect(r.signal, r.stderr).to.equal(null);
    expect(r.code, r.stderr).to.equal(0);
    const { held, values } = r.reports[0] as { held: number; values: number[] };
    expect(values).to.deep.equal([0, 0, 0, 0]);
    expect(held, 'bytes of blocks the cache holds after the loop').to.be.at.most(320 * 2 ** 20);
  });

  it('work submitted from several devices that wait for each other does not deadlock under back-pressure', async () => {
    let x = Tensor.normal([256, 1024], { seed: 3 });
    for (let i = 0; i < 200; i++) {
      const moved = ops.relu(x).to(i % 2 ? 'cpu:0' : 'cpu:1');
      x.dispose();
      x = moved;
    }
    const values = await x.toArray();
    expect(values.length).to.equal(256 * 1024);
    expect(Array.from(values.slice(0, 64)).every((v) => v >= 0)).to.equal(true);
  });
});
