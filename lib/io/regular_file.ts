// Reading a whole file that must be a regular one. A FIFO would block the read until a writer
// comes (forever, for a mistyped path), and a device such as /dev/zero never ends: both are
// refused before anything is read.
import { constants, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';

import { AlexNetError } from '../errors.js';

/**
 * The bytes of `file`; an AlexNetError BAD_FILE naming it (as `what`, e.g. "checkpoint") when it
 * is not a regular file. Errors of the file system (ENOENT, EACCES …) are thrown as they come, for
 * the caller to word.
 */
export async function readRegularFile(file: string, what: string): Promise<Buffer> {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer before fstat can
  // tell what it is. It changes nothing for regular files.
  const handle = await open(file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const stats = await handle.stat();
    if (!stats.isFile())
      throw new AlexNetError(`${what} ${file} is ${kind(stats)}, not a regular file`, 'BAD_FILE', 'fstat');
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

function kind(s: Stats): string {
  if (s.isFIFO()) return 'a FIFO';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isDirectory()) return 'a directory';
  if (s.isSocket()) return 'a socket';
  return 'a special file';
}
