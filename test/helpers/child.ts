// Runs a piece of test code in a fresh Node process, for inputs that could crash, hang or exhaust
// the process that handles them: a regression then fails one test instead of killing the runner.
import { spawn, spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// dist/test/helpers -> dist/lib
const LIB = new URL('../../lib/', import.meta.url).href;

export interface ChildOutcome {
  /** Exit status, or null when a signal ended the process. */
  status: number | null;
  /** The signal that ended it (e.g. 'SIGBUS', 'SIGABRT', 'SIGTERM' after a timeout), or null. */
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  /** What the code passed to report(), or undefined if it never did. */
  result: any;
}

/**
 * Runs `body` (the statements of an async function) in a child process. In scope: `data`
 * (lib/data), `io` (lib/io), `AlexNetError`, `fs`, `path`, and `report(value)`, which sends a
 * JSON value back. A thrown error is reported as `{ error: { name, code, message, call } }`.
 */
export function runChild(body: string, options: { timeoutMs?: number; args?: string[] } = {}): ChildOutcome {
  const script = `
    import * as data from '${LIB}data/index.js';
    import * as io from '${LIB}io/index.js';
    import { AlexNetError } from '${LIB}errors.js';
    import * as fs from 'node:fs';
    import * as path from 'node:path';
    const args = ${JSON.stringify(options.args ?? [])};
    const report = (value) => process.stdout.write('RESULT ' + JSON.stringify(value) + '\\n');
    try {
      await (async () => { ${body} })();
    } catch (e) {
      report({ error: { name: e?.name, code: e?.code, message: String(e?.message), call: e?.call } });
    }
    // The data pipeline's threads must not keep a finished test alive.
    process.exit(0);
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8', timeout: options.timeoutMs ?? 30000, killSignal: 'SIGKILL',
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  return {
    status: r.status,
    signal: r.signal,
    timedOut: (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT',
    stdout: r.stdout,
    stderr: r.stderr,
    result: line === undefined ? undefined : JSON.parse(line.slice('RESULT '.length)),
  };
}

/** A one-line account of how a child ended, for assertion messages. */
export function describeOutcome(o: ChildOutcome): string {
  return `status ${o.status}, signal ${o.signal}${o.timedOut ? ' (timed out)' : ''}, stderr: ${o.stderr.slice(-800)}`;
}

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
