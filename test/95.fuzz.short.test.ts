// The fuzz suite's short form (test/fuzz; the full one is `npm run test:fuzz`): a few hundred
// mutated checkpoints, images, IDX files, packed caches and op calls, each in a child process. Any
// crash, hang, untyped error or excessive allocation fails, with the case's seed, saved input and
// replay command. Kinds in KNOWN_CRASHES (test/fuzz/config.ts) are left out, each shown below as a
// pending test.
import { expect } from 'chai';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { KNOWN_CRASHES, SHORT_FORM } from './fuzz/config.js';
import { formatReport, runFuzz } from './fuzz/runner.js';

describe('fuzz harness', () => {
  it('tells each way a case can end apart, and saves the input of failures', async function () {
    this.timeout(120_000);
    const kinds = ['ok', 'typed', 'untyped', 'engine', 'abort', 'segv', 'hang', 'stray'];
    const report = await runFuzz({ seed: 0, cases: 0, replay: kinds.map((k) => `selftest/${k}:1`), timeoutMs: 3000, batch: 8 });
    const verdicts = Object.fromEntries(report.results.map((r) => [r.plan.kind.slice('selftest/'.length), r.verdict]));
    expect(Object.keys(verdicts).sort()).to.deep.equal([...kinds].sort());
    expect(verdicts.ok!.status).to.equal('ok');
    expect(verdicts.typed!.status).to.equal('typed');
    expect(verdicts.untyped!.status).to.equal('untyped');
    expect(verdicts.engine!.status, 'a TypeError from the engine is not a typed error').to.equal('untyped');
    expect(verdicts.stray!.status, 'a rejection nobody awaited').to.equal('untyped');
    expect(verdicts.abort).to.include({ status: 'crash', signal: 'SIGABRT' });
    expect(verdicts.segv).to.include({ status: 'crash', signal: 'SIGSEGV' });
    expect(verdicts.hang!.status).to.equal('hang');
    expect(report.failures.map((f) => f.plan.kind).sort()).to.deep.equal(
      ['abort', 'engine', 'hang', 'segv', 'stray', 'untyped'].map((k) => `selftest/${k}`));
    for (const f of report.failures) expect(existsSync(join(f.saved!, 'case.json')), f.saved).to.equal(true);
    rmSync(report.out, { recursive: true, force: true });
  });
});

describe(`fuzz: ${SHORT_FORM.cases} cases (seed ${SHORT_FORM.seed})`, () => {
  it('no input crashes the process, hangs, or fails without a typed error', async function () {
    this.timeout(300_000);
    const report = await runFuzz({ seed: SHORT_FORM.seed, cases: SHORT_FORM.cases, skipKnown: true, timeoutMs: SHORT_FORM.timeoutMs });
    const summary = formatReport(report);
    expect(report.failures, summary).to.have.length(0);
    expect(report.results.length).to.be.greaterThan(SHORT_FORM.cases / 2);
  });
  for (const known of KNOWN_CRASHES) it.skip(`known crash, left out until fixed: ${known.kind} (${known.why})`);
});
