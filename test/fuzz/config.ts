// The fuzz suite's settings, and the one list of crashes known to be open.
import type { CategoryName } from './types.js';

/**
 * Case kinds (`<category>/<name>`, or `<category>/*`) that still crash, hang or escape untyped on
 * this branch, each with the defect behind it. The short form inside `npm test` leaves these
 * kinds out (and lists them as pending tests, so they are never silently gone); the full run
 * (`npm run test:fuzz`) runs them and reports their failures as known, and warns about an entry
 * that no longer fails. Remove an entry in the change that fixes its defect; the list is meant
 * to be empty.
 */
export const KNOWN_CRASHES: readonly { kind: string; why: string }[] = [];

/** How often each category is drawn. */
export const CATEGORY_WEIGHTS: Record<Exclude<CategoryName, 'selftest'>, number> = { checkpoint: 2, image: 2, idx: 1.5, cache: 1.5, ops: 3 };

export const DEFAULTS = {
  cases: 1200,
  /** Parallel child processes. */
  jobs: 2,
  /** Cases per child process; a child that dies hands the rest to a new one. */
  batch: 40,
  /** A case that takes longer has hung. */
  timeoutMs: 20_000,
  /** Address-space limit of a child (ulimit -v), so that a huge allocation fails instead of swapping. */
  memoryMiB: 4096,
  valgrind: { cases: 150, batch: 25, timeoutMs: 300_000 },
} as const;

/** The short form inside `npm test`: fixed seed (reproducible), a few hundred cases. */
export const SHORT_FORM = {
  seed: Number(process.env.ALEXNET_FUZZ_SEED ?? 20121203),
  cases: Number(process.env.ALEXNET_FUZZ_CASES ?? 300),
  timeoutMs: 20_000,
} as const;

export function knownCrash(kind: string): { kind: string; why: string } | undefined {
  return KNOWN_CRASHES.find((k) => k.kind === kind || (k.kind.endsWith('/*') && kind.startsWith(k.kind.slice(0, -1))));
}
