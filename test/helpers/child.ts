// Runs code that might crash, hang or exhaust memory in a child process, so that such a regression
// fails its test instead of taking the test runner with it.
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface ChildResult { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; timedOut: boolean }

/** The file: URL of a compiled module under dist/lib, for `import` in child code ('io/index.js'). */
export function libUrl(path: string): string {
  return pathToFileURL(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'lib', path)).href;
}

/** Runs an ES module's source in a fresh Node process; kills it after `ms` (timedOut) and caps its heap. */
export function runModule(source: string, ms = 60_000, heapMb = 512): Promise<ChildResult> {
  const child = spawn(process.execPath, [`--max-old-space-size=${heapMb}`, '--input-type=module', '-e', source], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, ms);
  return new Promise((done) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr, timedOut });
    });
  });
}
