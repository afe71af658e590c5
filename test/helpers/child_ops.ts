// Runs a snippet of ES module code that calls ops in a fresh Node process, so that a native crash (a signal, an
// abort) fails the test instead of killing the test runner. The snippet sees `lib` (the compiled
// library) and `native` (the raw addon) and reports with `report(value)` (one JSON line).
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const distLib = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'lib');

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** What the snippet passed to report(), in order. */
  reports: unknown[];
}

export function runChild(body: string, options: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<ChildResult> {
  const lib = pathToFileURL(resolve(distLib, 'index.js')).href;
  const binding = pathToFileURL(resolve(distLib, 'binding.js')).href;
  const source = `
    const lib = await import(${JSON.stringify(lib)});
    const { native } = await import(${JSON.stringify(binding)});
    const report = (value) => process.stdout.write('REPORT ' + JSON.stringify(value) + '\\n');
    const outcome = (fn) => {
      try { fn(); return 'ok'; } catch (e) { return e.constructor.name + ': ' + e.message; }
    };
    const settled = async (promise) => {
      try { await promise; return 'ok'; } catch (e) { return e.constructor.name + (e.code ? ' ' + e.code : '') + ': ' + e.message; }
    };
    ${body}
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', source], {
    env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60000);
  return new Promise((resolveDone) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const reports = stdout.split('\n').filter((l) => l.startsWith('REPORT ')).map((l) => JSON.parse(l.slice(7)));
      resolveDone({ code, signal, stderr, reports });
    });
  });
}
