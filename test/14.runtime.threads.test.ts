// setNumThreads: the CPU backend's compute threads, set at run time on every CPU device.
import { expect } from 'chai';
import { MAX_THREADS, numThreads, setNumThreads } from '../lib/index.js';
import { libUrl, runModule } from './helpers/child.js';

/**
 * A child that fixes OMP_NUM_THREADS before the addon loads, runs `threadSteps` (a convolution, a
 * fully connected layer and a ReLU, each large enough to go parallel) once per entry of
 * `threadSteps` with that many threads, and reports its thread count and each run's outputs.
 */
function childSource(threadSteps: number[]): string {
  return `
    process.env.OMP_NUM_THREADS = '2';
    const lib = await import(${JSON.stringify(libUrl('index.js'))});
    const { Tensor, ops } = lib;
    const rand = (n, s) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + s) * 0.5);
    const x = Tensor.fromArray(rand(8 * 16 * 32 * 32, 1), [8, 16, 32, 32]);
    const w = Tensor.fromArray(rand(32 * 16 * 3 * 3, 2), [32, 16, 3, 3]);
    const fcw = Tensor.fromArray(rand(256 * 32768, 3), [256, 32768]);
    const runs = [];
    for (const threads of ${JSON.stringify(threadSteps)}) {
      lib.setNumThreads(threads);
      const y = ops.relu(ops.conv2d(x, w, null, { padding: 1 }));
      const z = ops.linear(y.reshape([8, 32768]), fcw, null);
      runs.push({ threads: lib.numThreads(), conv: Array.from((await y.toArray()).filter((_, i) => i % 97 === 0)), fc: Array.from(await z.toArray()) });
    }
    const fs = await import('node:fs');
    fs.writeSync(1, 'RESULT ' + JSON.stringify({ tasks: fs.readdirSync('/proc/self/task').length, runs }) + '\\n');
    process.exit(0);
  `;
}

async function runThreads(threadSteps: number[]): Promise<{ tasks: number; runs: { threads: number; conv: number[]; fc: number[] }[] }> {
  const r = await runModule(childSource(threadSteps), 120_000, 1024);
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  expect(line, `child: status ${r.code}, signal ${r.signal}, stderr ${r.stderr.slice(-800)}`).to.be.a('string');
  return JSON.parse(line!.slice('RESULT '.length));
}

function maxRelativeDifference(a: number[], b: number[]): number {
  let worst = 0;
  for (let i = 0; i < a.length; ++i) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1e-6, Math.abs(b[i]!)));
  return worst;
}

describe('runtime: setNumThreads', function () {
  this.timeout(240_000);

  it('rejects counts that are not integers from 1 to MAX_THREADS, naming the parameter', () => {
    expect(() => setNumThreads(0)).to.throw(RangeError, /threads must be in \[1, 1024\], got 0/);
    expect(() => setNumThreads(MAX_THREADS + 1)).to.throw(RangeError, /threads/);
    expect(() => setNumThreads(1.5)).to.throw(TypeError, /threads must be an integer, got 1.5/);
    expect(() => setNumThreads('2' as unknown as number)).to.throw(TypeError, /threads must be an integer/);
    expect(numThreads()).to.be.at.least(1);
  });

  it('changes how many threads compute, and switching back and forth gives the same numbers', async () => {
    const one = await runThreads([1]);
    const three = await runThreads([3, 1, 3]);
    expect(one.runs[0]!.threads).to.equal(1);
    expect(three.runs.map((r) => r.threads)).to.deep.equal([3, 1, 3]);
    // The same process but for two more OpenMP workers (the team of three threads).
    expect(three.tasks - one.tasks).to.equal(2);
    for (const run of three.runs) {
      expect(maxRelativeDifference(run.conv, one.runs[0]!.conv)).to.be.below(1e-5);
      expect(maxRelativeDifference(run.fc, one.runs[0]!.fc)).to.be.below(1e-4);
    }
  });
});
