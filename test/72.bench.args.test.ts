// The benchmark scripts' command lines (bench/args.ts): --help prints the script's own header (what
// it measures, how to run it) and exits 0; an unknown flag or a flag without its value is one line
// naming it and exit status 2, not a stack trace. Nothing here runs a benchmark.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const bench = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'bench');
const scripts = ['all.js', 'ops.js', 'train_step.js', 'quick_preset_layers.js', 'data.js', 'data_parallel.js', 'scaling.js'];
const run = (script: string, args: string[]) =>
  spawnSync(process.execPath, [join(bench, script), ...args], { encoding: 'utf8', timeout: 60_000 });

describe('bench scripts: --help and bad flags', () => {
  for (const script of scripts) {
    it(`${script} --help prints its header and exits 0`, () => {
      const r = run(script, ['--help']);
      expect(r.status, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^\S/).and.to.include(script === 'all.js' ? 'npm run bench' : script.replace('.js', ''));
      expect(r.stdout).to.not.match(/^\/\//m);
    });
  }

  for (const script of scripts.filter((s) => s !== 'all.js')) {
    it(`${script} names an unknown flag in one line and exits 2`, () => {
      const r = run(script, ['--no-such-flag']);
      expect(r.status).to.equal(2);
      expect(r.stderr).to.include(`${script}: Unknown option '--no-such-flag'`).and.to.include('--help');
      expect(r.stderr).to.not.match(/\n\s+at /);
    });
  }
});
