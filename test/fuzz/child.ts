// Runs fuzz cases in order, in this process, for runner.ts. The plan arrives as JSON in argv[2]
// ({ work, cases }); progress goes to file descriptor 3 as one JSON object per line, written
// synchronously, so that the parent knows which case was running if this process dies:
//   {"t":"start","i":index}  {"t":"note","i":index,"text":...}  {"t":"end","i":index,"outcome":{...}}
// In valgrind mode each start is also marked on stderr, where valgrind writes its reports.
import { mkdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { synchronize } from '../../lib/index.js';
import { configureBase } from './base.js';
import { CATEGORY_TABLE } from './categories.js';
import { classify } from './outcome.js';
import { Rng } from './prng.js';
import type { CasePlan, ChildOutcome } from './types.js';

interface ChildPlan { work: string; cases: CasePlan[]; markStderr: boolean; keepInputs: boolean }

const EXCESS_MIB = 1024;

// This process's peak resident memory in KiB: VmHWM belongs to this process image alone
// (getrusage's maxRSS also carries the RSS of the parent that forked it).
function peakKiB(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    // not Linux: fall back below
  }
  return process.resourceUsage().maxRSS;
}
const plan = JSON.parse(process.argv[2] ?? '{}') as ChildPlan;
const send = (message: object) => writeSync(3, JSON.stringify(message) + '\n');

// An error nobody awaited (a library promise rejected in the background) belongs to the case
// that is running: recorded, not fatal.
let stray: unknown;
process.on('unhandledRejection', (reason) => { stray ??= reason; });
process.on('uncaughtException', (error) => { stray ??= error; });

const base = join(plan.work, `base-${process.pid}`);
configureBase(base);

for (const c of plan.cases) {
  const dir = join(plan.work, `case-${c.index}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  send({ t: 'start', i: c.index });
  if (plan.markStderr) writeSync(2, `##fuzz-case ${c.index}##\n`);
  stray = undefined;
  const peakBefore = peakKiB();
  let outcome: ChildOutcome;
  try {
    await CATEGORY_TABLE[c.category].run(c.kind, {
      rng: new Rng(c.seed), dir, note: (text) => send({ t: 'note', i: c.index, text }),
    });
    outcome = { status: 'ok' };
  } catch (e) {
    outcome = classify(e);
  }
  // Work the case queued but never read runs now, in its time: a slow or stuck one is this case's.
  // (Its error, if any, had no reader; what matters here is that it ends.)
  await synchronize('cpu').catch(() => undefined);
  // Let background rejections of this case arrive before it is closed.
  await new Promise((r) => setImmediate(r));
  if (stray !== undefined && outcome.status !== 'untyped') {
    const s = classify(stray);
    outcome = { status: 'untyped', name: 'name' in s ? s.name : 'Error', message: `unhandled in the background: ${'message' in s ? s.message : String(stray)}` };
  }
  // A file of a few kilobytes has no business making the process gigabytes larger, even when it
  // is rejected in the end (the ops may ask for any size: not checked there).
  const grewMiB = (peakKiB() - peakBefore) / 1024;
  if (c.category !== 'ops' && grewMiB > EXCESS_MIB && outcome.status !== 'untyped')
    outcome = { status: 'excess', message: `peak memory grew by ${grewMiB.toFixed(0)} MiB (limit ${EXCESS_MIB}); result: ${outcome.status === 'ok' ? 'ok' : outcome.message.split('\n')[0]}` };
  send({ t: 'end', i: c.index, outcome });
  // Inputs that did no harm are not kept; the parent keeps those of failures.
  if (outcome.status !== 'untyped' && !plan.keepInputs) rmSync(dir, { recursive: true, force: true });
}
rmSync(base, { recursive: true, force: true });
send({ t: 'finished' });
