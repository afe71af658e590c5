// The examples run as documented, so they do not rot: the TypeScript training script on a slice of
// Fashion-MNIST (the C++ example is built and run by CI without Node).
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FASHION_MNIST_DIR } from '../lib/index.js';

const examples = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'examples');

describe('examples', function () {
  this.timeout(120_000);

  it('train_fashion_mnist trains from the public API and reports the test accuracy', function () {
    if (!existsSync(join(FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'))) this.skip();
    const out = mkdtempSync(join(tmpdir(), 'alexnet-example-'));
    const r = spawnSync(process.execPath, [join(examples, 'train_fashion_mnist.js'), '--limit', '4096', '--epochs', '2', '--device', 'cpu', '--out', out],
      { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    const m = /test accuracy (\d+\.\d+)% after 2 epochs on cpu/.exec(r.stdout);
    expect(m, r.stdout).to.not.equal(null);
    expect(Number(m![1])).to.be.above(40);
    expect(existsSync(join(out, 'last.safetensors'))).to.equal(true);
  });
});
