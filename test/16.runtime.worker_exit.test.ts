// Worker threads that end with library work in flight (terminated, or calling process.exit()) must
// end cleanly: completions that arrive while the thread's environment is torn down are dropped,
// and the native code stays loaded for the device threads that outlive the worker. Each scenario
// runs in a child process, so an abort is a failed test rather than a dead test run.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { testDevices } from './helpers/devices.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

function run(args: string[]): Promise<{ code: number | null; signal: string | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    child.on('close', (code, signal) => resolve({ code, signal, output }));
  });
}

describe('runtime: worker threads that end mid-work', () => {
  const device = testDevices()[0];
  for (const [mode, what] of [
    ['read', 'terminate() while the worker awaits toArray()'],
    ['exit', 'process.exit() inside the worker with a read pending'],
    ['import', 'terminate() while the worker loads the library'],
  ] as const) {
    it(`survives ${what}, 40 times`, async function () {
      this.timeout(120_000);
      const r = await run([fixture('ending_workers.js'), mode, '40', device]);
      expect(r.signal, r.output).to.equal(null);
      expect(r.code, r.output).to.equal(0);
      expect(r.output).to.contain('done 40');
    });
  }
});

describe('runtime: the process ends with work queued on several devices', () => {
  it('process.exit() finishes the work, ends the stream threads and exits with its code', async () => {
    const r = await run([fixture('exit_with_work.js'), 'exit']);
    expect(r.signal, r.output).to.equal(null);
    expect(r.code, r.output).to.equal(7);
    expect(r.output).to.contain('queued on 4 devices');
  });

  it('a script that ends without awaiting its work exits cleanly', async () => {
    const r = await run([fixture('exit_with_work.js'), 'end']);
    expect(r.signal, r.output).to.equal(null);
    expect(r.code, r.output).to.equal(0);
  });
});
