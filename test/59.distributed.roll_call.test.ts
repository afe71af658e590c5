// The roll call that names a lost rank where the collective cannot: every rank that takes part
// sends each peer a small message and the peers whose message does not come are named. The MPI
// watchdog holds one when every rank reached a collective but the transfer stalled (a rank stopped
// during it); the process group holds one when an NCCL collective gives up (NCCL names no rank).
// Its messages are checked on any host by a C++ program compiled here; the roll call itself and the
// stalled transfer run under mpirun (skipped where it is absent). The NCCL path needs two GPUs: its
// end-to-end case is in test/58 and has not run here.
import { expect } from 'chai';
import { runHostCheck } from './helpers/host_check.js';
import { spawn } from 'node:child_process';
import { initDistributed } from '../lib/distributed/index.js';
import { mpiMissing } from './helpers/mpi.js';

const LIB = JSON.stringify(new URL('../lib/index.js', import.meta.url).href);
const MPI_ENV = { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' };

interface Line { rank: number; [key: string]: unknown }

/**
 * `mpirun -n 2 node -e script`, every line the ranks print that starts with '{' parsed. Each rank
 * prints {"rank", "pid"} first: whatever is left of them when mpirun ends (or is killed at
 * `limitMs`) is killed, so that a stopped rank never outlives the test.
 */
async function mpirun(script: string, env: Record<string, string>, limitMs = 90_000): Promise<{ code: number | null; lines: Line[]; output: string }> {
  const child = spawn('mpirun', ['-n', '2', '--oversubscribe', ...Object.keys(env).flatMap((k) => ['-x', k]),
    process.execPath, '--input-type=module', '-e', script], { env: { ...MPI_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const parsed = (): Line[] => stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Line);
  const killRanks = () => {
    for (const line of parsed()) {
      if (typeof line.pid !== 'number') continue;
      try { process.kill(line.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  };
  const timer = setTimeout(() => { killRanks(); child.kill('SIGKILL'); }, limitMs);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => { clearTimeout(timer); resolve(c); }));
  killRanks();
  return { code, lines: parsed(), output: stdout + stderr };
}

describe('the roll call', function () {
  this.timeout(120_000);

  it('words its messages as the checks in native/core/test/lost_ranks_check.cpp say (no MPI, no GPU)', function () {
    runHostCheck(this, 'native/core/test/lost_ranks_check.cpp', 'all checks passed', ['-Wall', '-Wextra', '-Werror', '-Inative']);
  });

  it('in a group of one names no one, and checks its argument', async () => {
    const group = await initDistributed();
    if (group.size !== 1) return;
    expect(await group.rollCall()).to.deep.equal([]);
    expect(await group.rollCall(0)).to.deep.equal([]);
    expect(() => group.rollCall(-1)).to.throw(RangeError, /seconds/);
    expect(() => group.rollCall(Number.NaN)).to.throw(TypeError, /seconds/);
  });

  describe('under mpirun -n 2', () => {
    before(function () {
      if (mpiMissing) {
        console.log(`      (skipped: ${mpiMissing})`);
        this.skip();
      }
    });

    it('names no one when both ranks answer, and the rank that does not take part', async () => {
      const script = `const { initDistributed } = await import(${LIB});
        const g = await initDistributed();
        console.log(JSON.stringify({ rank: g.rank, pid: process.pid }));
        const both = await g.rollCall(20);
        // Rank 1 sits out the second roll call: rank 0 names it after a second.
        const alone = g.rank === 0 ? await g.rollCall(1) : null;
        await g.barrier();
        console.log(JSON.stringify({ rank: g.rank, both, alone }));`;
      const r = await mpirun(script, {});
      expect(r.code, r.output).to.equal(0);
      const results = r.lines.filter((l) => 'both' in l).sort((a, b) => a.rank - b.rank);
      expect(results, r.output).to.deep.equal([{ rank: 0, both: [], alone: [1] }, { rank: 1, both: [], alone: null }]);
    });

    // Both ranks start an all-reduce of 64 Mi floats (about a second over shared memory here); rank 1
    // stops itself (SIGSTOP: all its threads) 50 ms after the small all-reduce queued before it has
    // come back, when its communication thread has announced the large one and is inside the
    // transfer. Every arrival is in, so rank 0's watchdog holds a roll call, which rank 1 cannot
    // answer.
    it('a rank stopped during a transfer it had joined is named by a roll call (RANK_LOST "lost rank 1")', async () => {
      const script = `const { initDistributed, Tensor } = await import(${LIB});
        const g = await initDistributed();
        console.log(JSON.stringify({ rank: g.rank, pid: process.pid }));
        const small = Tensor.zeros([1]);
        const large = Tensor.zeros([64 << 20]);
        await g.barrier();
        // The large one's input is copied on the stream before the small one's result is read back,
        // and the communication thread starts it as soon as the small one is done.
        const first = g.allReduce([small]);
        const second = g.allReduce([large]);
        first.wait();
        await small.toArray();
        const started = Date.now();
        if (g.rank === 1) {
          await new Promise((r) => setTimeout(r, 50));
          process.kill(process.pid, 'SIGSTOP');
        }
        second.wait();
        try { await large.toArray(); console.log(JSON.stringify({ rank: g.rank, reduced: true })); }
        catch (e) {
          console.log(JSON.stringify({ rank: g.rank, code: e.code, message: e.message, seconds: (Date.now() - started) / 1000 }));
          g.abortOnExit();
        }`;
      const r = await mpirun(script, { ALEXNET_DIST_TIMEOUT: '3' });
      expect(r.code, r.output).to.not.equal(0);
      const report = r.lines.find((l) => l.rank === 0 && ('code' in l || 'reduced' in l));
      expect(report, r.output).to.include({ rank: 0, code: 'RANK_LOST' });
      const { message, seconds } = report as unknown as { message: string; seconds: number };
      expect(message).to.include('all-reduce').and.to.include('lost rank 1 (reached it, then stopped answering');
      // The timeout, then the roll call's window (min(timeout, 10 s)).
      expect(seconds).to.be.within(5, 30);
    });
  });
});
