// Host-side C++ checks (native/*/test/*_check.cpp): logic of the native core and the GPU modules
// that needs no GPU, no MPI and no NCCL, compiled with the machine's C++ compiler ($CXX, else c++)
// and run. A test calling this skips, saying so, where there is no compiler.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));  // from dist/test/helpers
const CXX = process.env.CXX ?? 'c++';
const haveCompiler = spawnSync(CXX, ['--version'], { encoding: 'utf8' }).status === 0;

/**
 * Compiles `source` (relative to the project's root) with `flags` (include directories relative to
 * the root too, as `-Inative`), runs it, expects exit status 0 and `passed` in its output with no
 * "FAIL", and returns the output. Skips `test` where there is no compiler.
 */
export function runHostCheck(test: Mocha.Context, source: string, passed: string, flags: string[]): string {
  if (!haveCompiler) {
    console.log('      (skipped: no C++ compiler here; set CXX)');
    test.skip();
  }
  const dir = mkdtempSync(join(tmpdir(), 'alexnet-host-check-'));
  try {
    const exe = join(dir, basename(source, '.cpp'));
    const args = flags.map((f) => (f.startsWith('-I') ? `-I${join(ROOT, f.slice(2))}` : f));
    const cc = spawnSync(CXX, ['-std=c++17', ...args, join(ROOT, source), '-o', exe], { encoding: 'utf8' });
    expect(cc.status, cc.stderr).to.equal(0);
    const r = spawnSync(exe, [], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.include(passed).and.not.include('FAIL');
    return r.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
