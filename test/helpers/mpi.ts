// Whether the tests that start ranks under `mpirun -n 2` can run here: they need mpirun on the PATH
// and the addon's MPI module (libalexnet_mpi.so, built only where Open MPI's headers were present
// at build time). Where either is missing they skip and say which.
import { spawnSync } from 'node:child_process';
import { transportInfo } from '../../lib/index.js';

function whyNot(): string | null {
  if (spawnSync('mpirun', ['--version'], { encoding: 'utf8' }).status !== 0)
    return 'mpirun is not installed here; apt install openmpi-bin libopenmpi-dev';
  const mpi = transportInfo().mpi;
  if (!mpi.startsWith('available')) return `the addon's MPI module cannot be used here (${mpi})`;
  return null;
}

/** Why the mpirun tests cannot run here, or null where they can. */
export const mpiMissing: string | null = whyNot();
