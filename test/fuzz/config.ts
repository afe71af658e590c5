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
export const KNOWN_CRASHES: readonly { kind: string; why: string }[] = [
  { kind: 'ops/overflow', why: 'element counts wrap: Tensor.zeros/full/normal accept shapes of 2^64 elements (SIGSEGV in maxPool2d and softmax, an uncaught std::bad_alloc (SIGABRT) in localResponseNorm, silently empty results elsewhere)' },
  { kind: 'ops/binding-overflow', why: 'the same overflow through the native binding: empty() and the ops accept wrapped element counts (SIGSEGV in softmax)' },
  { kind: 'ops/foreign-buffer', why: 'Tensor.fromArray on a SharedArrayBuffer view throws a bare Error "Invalid argument"' },
  { kind: 'cache/truncate-after-open', why: 'a packed cache truncated while it is mapped: SIGBUS on the next read' },
  { kind: 'cache/size-overflow', why: 'a packed cache header whose count x size^2 x channels overflows passes the size check: SIGSEGV' },
  { kind: 'cache/huge-label', why: 'openCache makes one class name per label value up to the largest (2^31 - 1): hangs until V8 runs out of memory' },
  { kind: 'idx/huge-count', why: 'an IDX header claiming billions of images is allocated before the file is checked (std::bad_alloc, code INTERNAL, under the suite\'s 4 GiB limit; gigabytes allocated without one)' },
  { kind: 'idx/huge-dims', why: 'the same for IDX rows x columns' },
  { kind: 'checkpoint/huge-model', why: 'a checkpoint whose metadata describes a huge model: the model is built (gigabytes) before it is checked against the stored tensors' },
  { kind: 'checkpoint/endless', why: 'a checkpoint path to /dev/zero is read until memory runs out (SIGSEGV under the suite\'s 4 GiB limit)' },
  { kind: 'checkpoint/fifo', why: 'a FIFO given as a checkpoint: the read waits forever' },
  { kind: 'image/fifo', why: 'a FIFO given as an image: the read waits forever' },
  { kind: 'idx/fifo', why: 'a FIFO given as an IDX file: the read waits forever' },
  { kind: 'cache/fifo', why: 'a FIFO given as a packed cache: the open waits forever' },
];

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
