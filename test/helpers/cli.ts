// Runs the `alexnet` command (the compiled dist/lib/cli/main.js) in a child process.
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'lib', 'cli', 'main.js');

export interface CliResult { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

export function startCli(args: string[], options: { cwd?: string } = {}): { child: ChildProcess; done: Promise<CliResult>; stderr: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: { ...process.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => { stdout += d; });
  child.stderr!.on('data', (d) => { stderr += d; });
  const done = new Promise<CliResult>((resolveDone) => {
    child.on('close', (code, signal) => resolveDone({ code, signal, stdout, stderr }));
  });
  return { child, done, stderr: () => stderr };
}

export function runCli(args: string[], options: { cwd?: string } = {}): Promise<CliResult> {
  return startCli(args, options).done;
}

/** Resolves once `predicate` holds for the child's stderr so far (polling), or rejects after `ms`. */
export async function waitFor(predicate: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * One mocha test per case: `alexnet <command> ...args --out <a fresh path>` exits with status 2 (a
 * usage error), says what `pattern` matches on stderr, and writes nothing at the path.
 */
export function refusesEach(command: string, cases: [string[], RegExp][], outName: string): void {
  for (const [args, pattern] of cases) {
    it(`refuses ${JSON.stringify(args.join(' '))} with exit status 2`, async () => {
      const out = join(mkdtempSync(join(tmpdir(), `alexnet-${command}-bad-`)), outName);
      const r = await runCli([command, ...args, '--out', out]);
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr).to.match(pattern);
      expect(existsSync(out)).to.equal(false);
    });
  }
}
