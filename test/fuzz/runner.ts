// The parent side of the fuzz suite: plans cases from a seed, runs them in batches in child
// processes (child.ts), and turns deaths, hangs, untyped errors and valgrind reports into
// failures that name the case, its seed and its saved input.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CATEGORY_TABLE } from './categories.js';
import { CATEGORY_WEIGHTS, DEFAULTS, KNOWN_CRASHES, knownCrash } from './config.js';
import { Rng } from './prng.js';
import { CATEGORIES, FAILING, type CasePlan, type CategoryName, type ChildOutcome, type Verdict } from './types.js';

export interface FuzzOptions {
  seed: number;
  cases: number;
  only?: readonly (typeof CATEGORIES[number])[];
  /** Run exactly these cases (`<kind>:<seed>`, in this order, in one child) instead of a plan. */
  replay?: readonly string[];
  /** Only plan positions [from, to) of the plan. */
  range?: readonly [number, number];
  /** Logs every case, not only failures. */
  verbose?: boolean;
  /** Leave out the KNOWN_CRASHES kinds (the short form). */
  skipKnown?: boolean;
  jobs?: number;
  batch?: number;
  timeoutMs?: number;
  memoryMiB?: number;
  valgrind?: boolean;
  /** Where failures are saved; default a new temporary folder. */
  out?: string;
  log?: (line: string) => void;
}

export interface CaseResult {
  plan: CasePlan;
  verdict: Verdict;
  notes: string[];
  /** The folder holding the case's input and case.json, for failures. */
  saved?: string;
  /** The KNOWN_CRASHES entry its kind falls under, if any. */
  known?: string;
  /** The cases the same child process ran before this one (`<kind>:<seed>`), for failures. */
  before?: string[];
}

export interface FuzzReport {
  seed: number;
  results: CaseResult[];
  failures: CaseResult[];
  /** Failures of kinds not in KNOWN_CRASHES: these fail the run. */
  unexpected: CaseResult[];
  /** Cases left out because their kind is in KNOWN_CRASHES, by kind. */
  skipped: Record<string, number>;
  /** KNOWN_CRASHES entries that ran at least a few cases without any failure. */
  staleKnown: string[];
  out: string;
  ms: number;
}

const here = dirname(fileURLToPath(import.meta.url));
const CHILD = join(here, 'child.js');
// Loader false positives that memcheck's default suppressions miss (source tree: dist/test/fuzz -> test/fuzz).
const SUPPRESSIONS = resolve(here, '..', '..', '..', 'test', 'fuzz', 'valgrind.supp');

/** The run's cases, a pure function of (seed, count, categories). */
export function planCases(seed: number, count: number, only: readonly (typeof CATEGORIES[number])[] = CATEGORIES): CasePlan[] {
  const rng = new Rng(seed);
  const weights = only.map((c) => [CATEGORY_WEIGHTS[c], c] as const);
  return Array.from({ length: count }, (_, index) => {
    const category = rng.weighted(weights);
    const kind = rng.weighted(CATEGORY_TABLE[category].kinds);
    return { index, category, kind, seed: rng.seed() };
  });
}

export function parseReplay(spec: string, index: number): CasePlan {
  const m = /^(([a-z]+)\/[a-z0-9-]+):(\d+)$/.exec(spec);
  if (!m || !(m[2]! in CATEGORY_TABLE)) throw new RangeError(`--replay wants <category>/<kind>:<seed>, got '${spec}'`);
  const category = m[2] as CategoryName;
  if (!CATEGORY_TABLE[category].kinds.some(([, k]) => k === m[1])) throw new RangeError(`unknown case kind '${m[1]}'`);
  return { index, category, kind: m[1]!, seed: Number(m[3]) };
}

interface Running {
  outcomes: Map<number, ChildOutcome>;
  notes: Map<number, string[]>;
  started: number[];
  valgrind: Map<number, string[]>;
  finished: boolean;
  hung?: { index: number; ms: number };
  stderr: string;
}

const VALGRIND_ERROR = /^==\d+== (Invalid (read|write|free)|Conditional jump|Use of uninitialised|Syscall param|Mismatched free|Source and destination overlap|Argument '.*' of function|Process terminating)/;

/** Runs `cases` in one child; resolves when it exits, however it exits. */
function runChild(cases: CasePlan[], work: string, o: Required<Pick<FuzzOptions, 'timeoutMs' | 'memoryMiB' | 'valgrind'>>,
  onNote: (i: number) => void): Promise<{ run: Running; code: number | null; signal: string | null }> {
  const plan = JSON.stringify({ work, cases, markStderr: o.valgrind, keepInputs: o.valgrind });
  const env = { ...process.env, OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? '1' };
  const child = o.valgrind
    ? spawn('valgrind', ['-q', '--error-exitcode=99', '--log-fd=2', '--trace-children=no', `--suppressions=${SUPPRESSIONS}`, process.execPath, CHILD, plan],
      { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env })
    : spawn('/bin/sh', ['-c', `ulimit -v ${o.memoryMiB * 1024} 2>/dev/null; exec "$0" "$@"`, process.execPath, CHILD, plan],
      { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], env });
  const run: Running = { outcomes: new Map(), notes: new Map(), started: [], valgrind: new Map(), finished: false, stderr: '' };
  let timer: NodeJS.Timeout | undefined;
  const arm = (index: number, ms: number) => {
    clearTimeout(timer);
    const since = Date.now();
    timer = setTimeout(() => { run.hung = { index, ms: Date.now() - since }; child.kill('SIGKILL'); }, ms);
  };
  arm(-1, o.valgrind ? DEFAULTS.valgrind.timeoutMs : 60_000);  // start-up
  let protocol = '';
  child.stdio[3]!.on('data', (d: Buffer) => {
    protocol += d.toString('utf8');
    let nl;
    while ((nl = protocol.indexOf('\n')) >= 0) {
      const line = protocol.slice(0, nl);
      protocol = protocol.slice(nl + 1);
      const m = JSON.parse(line) as { t: string; i: number; text?: string; outcome?: ChildOutcome };
      if (m.t === 'start') { run.started.push(m.i); arm(m.i, o.timeoutMs); }
      else if (m.t === 'note') { (run.notes.get(m.i) ?? run.notes.set(m.i, []).get(m.i)!).push(m.text!); onNote(m.i); }
      else if (m.t === 'end') { run.outcomes.set(m.i, m.outcome!); clearTimeout(timer); }
      else if (m.t === 'finished') run.finished = true;
    }
  });
  let current = -1;
  let collecting: string[] | undefined;
  let partial = '';
  child.stderr!.on('data', (d: Buffer) => {
    const text = d.toString('utf8');
    run.stderr = (run.stderr + text).slice(-8000);
    if (!o.valgrind) return;
    partial += text;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      const mark = /^##fuzz-case (\d+)##$/.exec(line);
      if (mark) { current = Number(mark[1]); collecting = undefined; continue; }
      if (VALGRIND_ERROR.test(line)) {
        collecting = run.valgrind.get(current) ?? [];
        run.valgrind.set(current, collecting);
      }
      if (collecting && /^==\d+==/.test(line) && collecting.length < 60) collecting.push(line);
    }
  });
  child.stdout!.on('data', () => undefined);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ run, code, signal }); });
  });
}

function verdictOf(index: number, r: { run: Running; code: number | null; signal: string | null }, lastStarted: number): Verdict {
  const report = r.run.valgrind.get(index);
  if (report) return { status: 'valgrind', report: report.join('\n') };
  const outcome = r.run.outcomes.get(index);
  if (outcome) return outcome;
  if (r.run.hung?.index === index) return { status: 'hang', afterMs: r.run.hung.ms, stderr: r.run.stderr.slice(-2000) };
  if (index === lastStarted) return { status: 'crash', signal: r.signal, exitCode: r.code, stderr: r.run.stderr.slice(-3000) };
  throw new Error(`case ${index} has no verdict`);
}

export function replayCommand(r: CaseResult): string {
  return `npm run test:fuzz -- --replay ${r.plan.kind}:${r.plan.seed}`;
}

/** The same case after the ones its child process ran before it, for failures that need them. */
export function replayInContextCommand(r: CaseResult): string {
  return `npm run test:fuzz -- ${[...(r.before ?? []), `${r.plan.kind}:${r.plan.seed}`].map((c) => `--replay ${c}`).join(' ')}`;
}

export function describeVerdict(v: Verdict): string {
  switch (v.status) {
    case 'ok': return 'ok';
    case 'typed': return `${v.name}${v.code ? ` ${v.code}` : ''}: ${v.message.split('\n')[0]}`;
    case 'untyped': return `untyped ${v.name}: ${v.message.split('\n')[0]}`;
    case 'excess': return `excess: ${v.message}`;
    case 'crash': return `crash: ${v.signal ? `signal ${v.signal}` : `exit code ${v.exitCode}`}${firstLine(v.stderr)}`;
    case 'hang': return `hang: no result after ${v.afterMs} ms`;
    case 'valgrind': return `valgrind: ${v.report.split('\n')[0]?.replace(/^==\d+== /, '')}`;
  }
}

function firstLine(stderr: string): string {
  const line = stderr.split('\n').map((l) => l.trim()).find((l) => l && !l.startsWith('##fuzz-case'));
  return line ? ` (${line.slice(0, 160)})` : '';
}

/** Moves the case's input folder next to a case.json that says how to replay it. */
function save(result: CaseResult, work: string, failures: string): string {
  const dir = join(failures, `${result.plan.index}-${result.plan.kind.replace('/', '-')}-${result.plan.seed}`);
  const from = join(work, `case-${result.plan.index}`);
  mkdirSync(failures, { recursive: true });
  if (existsSync(from)) renameSync(from, dir);
  else mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'case.json'), JSON.stringify({ ...result, replay: replayCommand(result),
    replayInContext: replayInContextCommand(result) }, null, 2) + '\n');
  return dir;
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const valgrind = options.valgrind ?? false;
  const o = {
    timeoutMs: options.timeoutMs ?? (valgrind ? DEFAULTS.valgrind.timeoutMs : DEFAULTS.timeoutMs),
    memoryMiB: options.memoryMiB ?? DEFAULTS.memoryMiB,
    valgrind,
  };
  // Replayed cases run in one child, in order: a failure that needs its predecessors reappears.
  if (valgrind && spawnSync('valgrind', ['--version']).status !== 0)
    throw new Error('--valgrind: valgrind was not found on PATH (Debian/Ubuntu: apt-get install valgrind)');
  const batch = options.replay?.length ? options.replay.length : options.batch ?? (valgrind ? DEFAULTS.valgrind.batch : DEFAULTS.batch);
  const jobs = Math.max(1, options.jobs ?? DEFAULTS.jobs);
  const out = options.out ?? mkdtempSync(join(tmpdir(), 'alexnet-fuzz-'));
  const work = join(out, 'work');
  const failuresDir = join(out, 'failures');
  mkdirSync(work, { recursive: true });

  let plan = options.replay?.length ? options.replay.map(parseReplay) : planCases(options.seed, options.cases, options.only);
  if (options.range) plan = plan.slice(options.range[0], options.range[1]);
  const skipped: Record<string, number> = {};
  if (options.skipKnown) {
    plan = plan.filter((c) => {
      if (!knownCrash(c.kind)) return true;
      skipped[c.kind] = (skipped[c.kind] ?? 0) + 1;
      return false;
    });
  }

  const results: CaseResult[] = [];
  const queue = [...plan];
  let done = 0;
  let reported = 0;
  const lane = async () => {
    while (queue.length > 0) {
      let cases = queue.splice(0, batch);
      while (cases.length > 0) {
        const r = await runChild(cases, work, o, () => undefined);
        if (r.run.started.length === 0)
          throw new Error(`a fuzz child ${r.run.hung ? 'hung' : `exited (${r.signal ?? r.code})`} before its first case:\n${r.run.stderr}`);
        const last = r.run.started[r.run.started.length - 1]!;
        const valgrindOnly = r.code === 99 && r.run.valgrind.size === 0;
        for (const index of r.run.started) {
          const planned = cases.find((c) => c.index === index)!;
          let verdict = verdictOf(index, r, last);
          if (valgrindOnly && index === last && !FAILING.has(verdict.status))
            verdict = { status: 'valgrind', report: `valgrind reported errors (exit 99) by the end of this batch; stderr:\n${r.run.stderr.slice(-3000)}` };
          if (!r.run.finished && index === last && r.run.outcomes.has(index) && !FAILING.has(verdict.status) && !r.run.hung && !valgrind)
            verdict = { status: 'crash', signal: r.signal, exitCode: r.code, stderr: `after the case ended: ${r.run.stderr.slice(-3000)}` };
          const result: CaseResult = { plan: planned, verdict, notes: r.run.notes.get(index) ?? [] };
          if (verdict.status !== 'ok' && options.verbose) log(`  ${planned.kind} #${index} ${describeVerdict(verdict)} | ${result.notes.join('; ')}`);
          else if (options.verbose) log(`  ${planned.kind} #${index} ok | ${result.notes.join('; ')}`);
          const known = knownCrash(planned.kind);
          if (known) result.known = known.kind;
          if (FAILING.has(verdict.status)) {
            result.before = r.run.started.slice(0, r.run.started.indexOf(index)).map((i) => {
              const c = cases.find((x) => x.index === i)!;
              return `${c.kind}:${c.seed}`;
            });
            result.saved = save(result, work, failuresDir);
            log(`FAIL ${planned.kind} #${planned.index} seed ${planned.seed}${known ? ' (known)' : ''}: ${describeVerdict(verdict)}\n` +
              `     ${result.notes.join('; ')}\n     input: ${result.saved}\n     replay: ${replayCommand(result)}`);
          }
          results.push(result);
          done++;
        }
        // Whatever the child did not start goes to the next child.
        const startedSet = new Set(r.run.started);
        cases = cases.filter((c) => !startedSet.has(c.index));
        if (Math.floor(done / 200) > reported) {
          reported = Math.floor(done / 200);
          log(`[fuzz] ${done}/${plan.length} cases`);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, Math.max(1, plan.length)) }, lane));
  rmSync(work, { recursive: true, force: true });
  results.sort((a, b) => a.plan.index - b.plan.index);
  const failures = results.filter((r) => FAILING.has(r.verdict.status));
  const staleKnown = KNOWN_CRASHES.filter((k) => {
    const ran = results.filter((r) => r.known === k.kind);
    return ran.length >= 5 && !ran.some((r) => FAILING.has(r.verdict.status));
  }).map((k) => k.kind);
  if (failures.length === 0 && !options.out) rmSync(out, { recursive: true, force: true });
  return { seed: options.seed, results, failures, unexpected: failures.filter((f) => !f.known), skipped, staleKnown, out, ms: Date.now() - started };
}

/** A summary table: outcomes by kind, then each failure. */
export function formatReport(report: FuzzReport): string {
  const lines: string[] = [];
  const byKind = new Map<string, Record<string, number>>();
  for (const r of report.results) {
    const row = byKind.get(r.plan.kind) ?? {};
    row[r.verdict.status] = (row[r.verdict.status] ?? 0) + 1;
    byKind.set(r.plan.kind, row);
  }
  const statuses = ['ok', 'typed', 'untyped', 'excess', 'crash', 'hang', 'valgrind'] as const;
  lines.push(`seed ${report.seed}: ${report.results.length} cases in ${(report.ms / 1000).toFixed(1)} s`);
  lines.push(`${'kind'.padEnd(30)}${statuses.map((s) => s.padStart(9)).join('')}`);
  for (const kind of [...byKind.keys()].sort()) {
    const row = byKind.get(kind)!;
    lines.push(`${kind.padEnd(30)}${statuses.map((s) => String(row[s] ?? '').padStart(9)).join('')}`);
  }
  const skipped = Object.entries(report.skipped);
  if (skipped.length) lines.push(`left out (KNOWN_CRASHES): ${skipped.map(([k, n]) => `${k} x${n}`).join(', ')}`);
  if (report.failures.length) {
    lines.push('', `${report.failures.length} failures (${report.unexpected.length} not in KNOWN_CRASHES), saved under ${report.out}:`);
    for (const f of report.failures)
      lines.push(`  ${f.plan.kind} #${f.plan.index} seed ${f.plan.seed}${f.known ? ' [known]' : ''}: ${describeVerdict(f.verdict)}`,
        `      ${f.notes.join('; ').slice(0, 400)}`, `      replay: ${replayCommand(f)}`);
  }
  for (const k of report.staleKnown) lines.push(`KNOWN_CRASHES lists ${k}, but none of its cases failed: remove it if it is fixed`);
  return lines.join('\n');
}
