// The NCCL watchdog: a rank that dies or hangs must end a CUDA collective with RANK_LOST within
// ALEXNET_DIST_TIMEOUT, as it does over MPI, instead of leaving NCCL's kernels waiting for ever.
// Its decisions (native/core/nccl_watchdog.hpp: when to look again, when to give up, which error)
// are checked on any host by a C++ program compiled here; the whole path (non-blocking
// communicator, polling, ncclCommAbort, the typed error) runs where two GPUs, NCCL and mpirun are
// present, and is skipped with a message elsewhere.
import { expect } from 'chai';
import { runHostCheck } from './helpers/host_check.js';
import { spawn } from 'node:child_process';
import { cudaInfo } from '../lib/device.js';
import { transportInfo } from '../lib/distributed/index.js';
import { mpiMissing } from './helpers/mpi.js';

const MPI_ENV = { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' };

describe('the NCCL watchdog', function () {
  this.timeout(120_000);

  it('decides on the host as the checks in native/core/test/nccl_watchdog_check.cpp say (no NCCL, no GPU)', function () {
    runHostCheck(this, 'native/core/test/nccl_watchdog_check.cpp', 'all checks passed', ['-Wall', '-Wextra', '-Werror', '-Inative']);
  });

  // What a machine with two GPUs runs: rank 1 never joins an all-reduce of CUDA tensors; rank 0's
  // watchdog aborts the communicator and its result rejects with RANK_LOST within the timeout, naming
  // rank 1 (the roll call after it: 3 s more).
  it('a CUDA all-reduce that a rank never joins fails with RANK_LOST within the timeout (2 GPUs, NCCL, mpirun)', async function () {
    if (mpiMissing || cudaInfo().count < 2 || !transportInfo().nccl.startsWith('available')) {
      console.log('      (skipped: needs mpirun, NCCL and two CUDA devices)');
      this.skip();
    }
    const script = `const { initDistributed, Tensor } = await import(${JSON.stringify(new URL('../lib/index.js', import.meta.url).href)});
      const g = await initDistributed();
      const t = Tensor.fromArray(Float32Array.of(1, 2, 3), [3], 'cuda:' + g.localRank);
      g.allReduce([t]).wait();  // forms the communicator: both ranks join
      await t.toArray();
      if (g.rank === 1) await new Promise((r) => setTimeout(r, 60_000));
      const started = Date.now();
      g.allReduce([t]).wait();
      try { await t.toArray(); console.log('reduced'); }
      catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, seconds: (Date.now() - started) / 1000 })); g.abortOnExit(); }`;
    const child = spawn('mpirun', ['-n', '2', '--oversubscribe', '-x', 'ALEXNET_DIST_TIMEOUT', process.execPath, '--input-type=module', '-e', script],
      { env: { ...MPI_ENV, ALEXNET_DIST_TIMEOUT: '3' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d) => { stdout += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => { clearTimeout(timer); resolve(c); }));
    expect(code).to.not.equal(0);
    const line = stdout.split('\n').find((l) => l.startsWith('{'));
    expect(line, stdout).to.be.a('string');
    const report = JSON.parse(line!) as { code: string; message: string; seconds: number };
    expect(report.code).to.equal('RANK_LOST');
    expect(report.message).to.include('NCCL all-reduce did not finish within 3 s');
    // Named by the roll call over MPI that the group holds after NCCL gave up: rank 1 does not answer.
    expect(report.message).to.include('lost rank 1');
    expect(report.seconds).to.be.below(30);
  });
});
