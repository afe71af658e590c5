// alexnet train --loss-scale and --precision fp16: the flag's refusals (usage errors that write
// nothing), fp16's typed error before the run directory exists, and a short scaled run whose
// metrics.jsonl and progress line carry the scale and the skipped steps.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FASHION_MNIST_DIR } from '../lib/data/index.js';
import { refusesEach, runCli } from './helpers/cli.js';

describe('alexnet train --loss-scale', function () {
  this.timeout(300_000);

  refusesEach('train', [
    [['--loss-scale', 'always'], /--loss-scale must be dynamic, none or a number from 2\^-126 to 2\^126, got "always"/],
    [['--loss-scale', '0'], /--loss-scale must be dynamic, none or a number/],
    [['--loss-scale', '1e40'], /--loss-scale must be dynamic, none or a number/],
    [['--loss-scale', ''], /--loss-scale must be dynamic, none or a number/],
  ], 'run');

  it('--precision fp16 is FLOAT16_UNSUPPORTED (exit status 1) before the run directory is made', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'alexnet-fp16-')), 'run');
    const r = await runCli(['train', '--device', 'cpu', '--precision', 'fp16', '--out', out]);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stderr).to.match(/precision fp16 is not available on cpu(:0)?: [^\n]*the CPU backend has no float16 kernels[\s\S]*\[FLOAT16_UNSUPPORTED\]/);
    expect(existsSync(out)).to.equal(false);
  });

  it('a short run with --loss-scale dynamic logs the scale and the skipped steps', async function () {
    // The data set is a Debian package (apt-get install dataset-fashion-mnist); CI installs it.
    if (!existsSync(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'))) this.skip();
    const out = join(mkdtempSync(join(tmpdir(), 'alexnet-loss-scale-cli-')), 'run');
    const r = await runCli(['train', '--limit', '256', '--epochs', '1', '--loss-scale', 'dynamic', '--out', out, '--progress', 'plain']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr + r.stdout).to.match(/precision fp32, loss scale dynamic from 65536; output in /);
    expect(r.stderr + r.stdout).to.match(/scale 2\^16  skipped 0/);
    const lines = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const state = JSON.parse(readFileSync(join(out, 'last.json'), 'utf8'));
    expect(state.step).to.equal(2);  // 256 images in batches of 128
    expect(state.lossScale).to.deep.equal({ scale: 65536, growthTracker: 2, skippedSteps: 0, dynamic: true });
    expect(lines.find((l) => l.type === 'epoch')).to.include({ skippedSteps: 0, lossScale: 65536 });
    expect(lines.find((l) => l.type === 'start')).to.include({ lossScale: 65536, lossScaleDynamic: true });
  });
});
