// What a fuzz case is, between the parent (runner.ts) that plans and watches cases and the child
// (child.ts) that runs them.
import type { Rng } from './prng.js';

/** The categories runs are planned from. */
export const CATEGORIES = ['checkpoint', 'image', 'idx', 'cache', 'ops'] as const;
/** `selftest` holds cases that fail on purpose (cases/selftest.ts): replayed only, to test the harness. */
export type CategoryName = typeof CATEGORIES[number] | 'selftest';

/** One planned case: everything in it derives from `seed`. */
export interface CasePlan {
  /** Position in the run's plan (from the run seed): stable for a given --seed. */
  index: number;
  category: CategoryName;
  /** `<category>/<what it does>`, e.g. `cache/header-field`; the unit of KNOWN_CRASHES. */
  kind: string;
  seed: number;
}

export interface CaseContext {
  rng: Rng;
  /** The case's own folder: inputs are written here before they are used, so a crash leaves them. */
  dir: string;
  /** Records what the case does (mutations, arguments); reaches the parent at once. */
  note(detail: string): void;
}

export interface Category {
  name: CategoryName;
  /** [weight, kind] with kind `<category>/<name>`. */
  kinds: readonly (readonly [number, string])[];
  run(kind: string, ctx: CaseContext): Promise<void>;
}

/** How a case ended, as the child saw it. */
export type ChildOutcome =
  | { status: 'ok' }
  | { status: 'typed'; name: string; code?: string; message: string }
  | { status: 'untyped'; name: string; message: string; stack?: string }
  /** A small input made the process grow by more than the limit (whatever the result). */
  | { status: 'excess'; message: string };

/** How a case ended, as the parent saw it. */
export type Verdict =
  | ChildOutcome
  | { status: 'crash'; signal: string | null; exitCode: number | null; stderr: string }
  | { status: 'hang'; afterMs: number; stderr: string }
  | { status: 'valgrind'; report: string };

export const FAILING: ReadonlySet<Verdict['status']> = new Set(['untyped', 'excess', 'crash', 'hang', 'valgrind']);
