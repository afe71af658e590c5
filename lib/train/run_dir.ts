// The directory a run writes its checkpoints and metrics to: made if missing, checked for
// writing before any work starts, and cleared of the temporaries a killed run left behind.
import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { AlexNetError } from '../errors.js';
import { removeStaleTemporaries } from '../io/atomic.js';

/**
 * Makes `dir` (and its parents) if needed and checks that it is a directory this process can
 * write to, so that a run that could never save fails at once with an IO_ERROR naming the
 * directory instead of after its first epoch. Returns the stale temporaries it deleted.
 */
export function prepareRunDirectory(dir: string): string[] {
  const fail = (why: string, call: string): never => {
    throw new AlexNetError(`the output directory ${dir} ${why}`, 'IO_ERROR', call);
  };
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EEXIST' || err.code === 'ENOTDIR') fail('is a file (or lies under one), not a directory', 'mkdir');
    fail(`cannot be created: ${err.message}`, 'mkdir');
  }
  if (!statSync(dir).isDirectory()) fail('is not a directory', 'stat');
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch {
    fail('is not writable', 'access');
  }
  return removeStaleTemporaries(dir);
}
