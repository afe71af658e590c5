// The one error class for failures inside the native core or the libraries it calls.

/**
 * Every code an AlexNetError carries. The native core and the TypeScript layer use only these (a
 * test reads the sources to keep this list complete), so `switch (e.code)` can be exhaustive.
 */
export const ERROR_CODES = [
  'INVALID_ARGUMENT',   // a bad value that only the native core could check (e.g. a label out of range)
  'OUT_OF_MEMORY',      // device or host memory
  'RESOURCE_EXHAUSTED', // threads or other system resources
  'CUDA_UNAVAILABLE',   // no driver, no GPU, or cuDNN/cuBLAS not found
  'MPI_UNAVAILABLE',    // a group of several processes where the MPI module or libmpi is missing
  'NCCL_UNAVAILABLE',   // NCCL asked for where the NCCL module, NCCL or a GPU is missing
  'RANK_LOST',          // another process of the group died, stopped or hung (named in the message)
  'CUDA_ERROR', 'CUDNN_ERROR', 'CUBLAS_ERROR', 'DNNL_ERROR', 'MPI_ERROR', 'NCCL_ERROR',  // a library status
  'IO_ERROR',           // the operating system refused a read or write
  'BAD_FILE',           // a file that is not what it should be (corrupt, truncated, wrong kind)
  'DATA_UNAVAILABLE',   // a data set that is not installed
  'LOADER_CLOSED',      // a data loader closed while an epoch was read from it
  'NON_FINITE_LOSS',    // training diverged
  'NON_FINITE_OUTPUT',  // the network's outputs were NaN or infinite
  'BF16_UNSUPPORTED',   // bfloat16 compute asked of a device that cannot (a CPU without AVX512_BF16)
  'FLOAT16_UNSUPPORTED', // float16 compute asked for (float16 tensors are stored and converted only)
  'INTERNAL',           // a broken invariant of the library itself
] as const;

/** One of {@link ERROR_CODES}. */
export type AlexNetErrorCode = (typeof ERROR_CODES)[number];

/**
 * A failure reported by the native core: a CUDA, cuDNN, cuBLAS or oneDNN status, a missing
 * library, an exhausted device memory, a corrupt file.
 *
 * - `code`: one of {@link ERROR_CODES}, e.g. `CUDA_UNAVAILABLE`, `OUT_OF_MEMORY`, `BAD_FILE`.
 * - `call`: the library call that failed (e.g. `cudnnConvolutionForward`), if any.
 * - `hint`: what to do about it, if known.
 *
 * Bad arguments are not AlexNetErrors: they throw `TypeError`/`RangeError` naming the parameter.
 */
export class AlexNetError extends Error {
  readonly code: AlexNetErrorCode;
  readonly call: string;
  readonly hint: string;

  constructor(message: string, code: AlexNetErrorCode, call = '', hint = '') {
    super(hint ? `${message}\n${hint}` : message);
    this.name = 'AlexNetError';
    this.code = code;
    this.call = call;
    this.hint = hint;
  }
}
