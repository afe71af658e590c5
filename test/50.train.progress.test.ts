// Progress output: a bar redrawn in place on a terminal, plain lines elsewhere.
import { expect } from 'chai';
import { Writable } from 'node:stream';
import { Progress, RecentRate, formatDuration } from '../lib/train/index.js';

function sink(isTTY: boolean): Writable & { text: string; isTTY: boolean } {
  const s = new Writable({ write(chunk, _enc, done) { s.text += chunk; done(); } }) as Writable & { text: string; isTTY: boolean };
  s.text = '';
  s.isTTY = isTTY;
  return s;
}
const info = { epoch: 0, epochs: 8, batch: 10, batches: 100, imagesPerSecond: 1234.5, loss: 0.56789, lr: 0.01, etaSeconds: 125, waitFraction: 0.031 };

describe('progress', () => {
  it('on a terminal: one line redrawn with images/s, loss, lr, ETA and data wait', () => {
    const out = sink(true);
    const p = new Progress('auto', out);
    expect(p.mode).to.equal('bar');
    p.update(info, true);
    expect(out.text).to.match(/^\repoch 1\/8 \[=> +\] 10\/100  1235 img\/s  loss 0\.5679  lr 0\.0100  ETA 2m05s  data wait 3%\x1b\[K$/);
    p.line('epoch 1 done');
    expect(out.text).to.match(/\r\x1b\[Kepoch 1 done\n$/);
  });

  it('elsewhere: plain lines, at most one per interval', () => {
    const out = sink(false);
    const p = new Progress('auto', out, 3600);
    expect(p.mode).to.equal('plain');
    p.update(info);
    p.update({ ...info, batch: 11 });
    expect(out.text.trim().split('\n')).to.have.length(1);
    expect(out.text).to.include('epoch 1/8 batch 10/100  1235 img/s');
    new Progress('none', out).update(info, true);
    expect(out.text.trim().split('\n')).to.have.length(1);
  });

  it('formats durations', () => {
    expect([formatDuration(5), formatDuration(125), formatDuration(3725), formatDuration(NaN)]).to.deep.equal(['5s', '2m05s', '1h02m', '?']);
  });
});

describe('progress: the recent rate', () => {
  it('leaves out the first step (one-off costs) from the second on, then follows the last steps only', () => {
    const rate = new RecentRate(4);
    rate.start(0);
    // A first step of 5 s (one-off costs), then steps of 10 ms, 128 images each.
    rate.add(5000, 128);
    expect(rate.secondsPerStep()).to.equal(5);                    // one step: the time since the start
    expect(rate.imagesPerSecond()).to.be.closeTo(25.6, 1e-9);
    rate.add(5010, 256);
    expect(rate.secondsPerStep()).to.be.closeTo(0.01, 1e-9);      // from the first step's end
    expect(rate.imagesPerSecond()).to.be.closeTo(12800, 1e-6);
    let t = 5010;
    for (let step = 3; step <= 6; step++) rate.add((t += 10 * step), 128 * step);  // 30, 40, 50, 60 ms
    expect(rate.secondsPerStep()).to.be.closeTo(0.045, 1e-9);     // the last 4 steps only
    expect(rate.imagesPerSecond()).to.be.closeTo(512 / 0.18, 1e-6);
  });

  it('has no rate before a step, starts again at each start, and refuses a window of no steps', () => {
    const rate = new RecentRate(1);
    rate.start(100);
    expect(rate.imagesPerSecond()).to.equal(0);
    expect(Number.isNaN(rate.secondsPerStep())).to.equal(true);
    expect(formatDuration(rate.secondsPerStep() * 10)).to.equal('?');
    rate.add(1100, 10);
    rate.add(1300, 20);
    expect(rate.secondsPerStep()).to.be.closeTo(0.2, 1e-9);
    rate.start(2000, 20);
    rate.add(2500, 30);
    expect(rate.secondsPerStep()).to.be.closeTo(0.5, 1e-9);
    expect(() => new RecentRate(0)).to.throw(RangeError, /steps must be a positive integer, got 0/);
  });
});
