// Cases that fail on purpose, one per verdict, so that the harness itself is tested (replayed by
// test/95.fuzz.short.test.ts; never planned).
import type { CaseContext, Category } from '../types.js';

async function run(kind: string, ctx: CaseContext): Promise<void> {
  ctx.note(kind);
  switch (kind) {
    case 'selftest/ok': return;
    case 'selftest/typed': throw new RangeError('count must be >= 1, got 0');
    case 'selftest/untyped': throw new Error('a bare error');
    case 'selftest/engine': return (undefined as unknown as { x: () => void }).x();
    case 'selftest/abort': process.abort();
    // eslint-disable-next-line no-fallthrough
    case 'selftest/segv': process.kill(process.pid, 'SIGSEGV'); return new Promise(() => undefined);
    case 'selftest/hang': return new Promise(() => setInterval(() => undefined, 1000));
    case 'selftest/stray': void Promise.reject(new Error('nobody awaited this')); return;
  }
}

export const selftest: Category = {
  name: 'selftest',
  kinds: [[1, 'selftest/ok'], [1, 'selftest/typed'], [1, 'selftest/untyped'], [1, 'selftest/engine'], [1, 'selftest/abort'],
    [1, 'selftest/segv'], [1, 'selftest/hang'], [1, 'selftest/stray']],
  run,
};
