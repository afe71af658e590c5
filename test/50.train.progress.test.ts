// Progress output: a bar redrawn in place on a terminal, plain lines elsewhere.
import { expect } from 'chai';
import { Writable } from 'node:stream';
import { Progress, formatDuration } from '../lib/train/index.js';

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
