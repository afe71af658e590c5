// The one error class for failures inside the native core or the libraries it calls.

/**
 * A failure reported by the native core: a CUDA, cuDNN, cuBLAS or oneDNN status, a missing
 * library, an exhausted device memory, a corrupt file.
 *
 * - `code`: stable name, e.g. `CUDA_UNAVAILABLE`, `OUT_OF_MEMORY`, `CUDNN_ERROR`, `DNNL_ERROR`,
 *   `IO_ERROR`, `BAD_FILE`, `NON_FINITE_LOSS`.
 * - `call`: the library call that failed (e.g. `cudnnConvolutionForward`), if any.
 * - `hint`: what to do about it, if known.
 *
 * Bad arguments are not AlexNetErrors: they throw `TypeError`/`RangeError` naming the parameter.
 */
export class AlexNetError extends Error {
  readonly code: string;
  readonly call: string;
  readonly hint: string;

  constructor(message: string, code: string, call = '', hint = '') {
    super(hint ? `${message}\n${hint}` : message);
    this.name = 'AlexNetError';
    this.code = code;
    this.call = call;
    this.hint = hint;
  }
}
