// PCA colour augmentation, the numerical side (paper section 4.1): the eigendecomposition of the
// channel covariance, and the offset P [a1 l1, a2 l2, a3 l3]^T added to every pixel of an image.
// Conventions follow oracle cases h1/h2: covariance divided by (M - 1); eigenvalues descending;
// eigenvector k in column k, negated where needed so its largest-|.| component is positive;
// lambda itself, not sqrt(lambda).
import { describe } from '../validate.js';

export interface ColourPca {
  /** Eigenvalues of the channel covariance, descending. */
  eigenvalues: Float64Array;
  /** Row-major [C, C]: eigenvector k is column k. */
  eigenvectors: Float64Array;
}

/**
 * Mean and covariance (divided by M - 1) of the channels over every pixel of NCHW `images`: the
 * float64 reference for the native statistics pass.
 */
export function pixelCovariance(images: ArrayLike<number>, shape: readonly [number, number, number, number]):
{ mean: Float64Array; covariance: Float64Array } {
  const [n, c, h, w] = shape;
  if (images.length !== n * c * h * w) throw new RangeError(`images has ${images.length} values, shape needs ${n * c * h * w}`);
  const plane = h * w, m = n * plane;
  const mean = new Float64Array(c);
  for (let i = 0; i < n; i++)
    for (let ch = 0; ch < c; ch++)
      for (let p = 0; p < plane; p++) mean[ch] += images[(i * c + ch) * plane + p];
  for (let ch = 0; ch < c; ch++) mean[ch] /= m;
  const covariance = new Float64Array(c * c);
  for (let i = 0; i < n; i++)
    for (let p = 0; p < plane; p++)
      for (let a = 0; a < c; a++) {
        const da = images[(i * c + a) * plane + p] - mean[a];
        for (let b = a; b < c; b++) covariance[a * c + b] += da * (images[(i * c + b) * plane + p] - mean[b]);
      }
  for (let a = 0; a < c; a++)
    for (let b = a; b < c; b++) covariance[b * c + a] = covariance[a * c + b] /= m - 1;
  return { mean, covariance };
}

/** Eigendecomposition of a symmetric channel covariance ([C, C], C = 1..4) by cyclic Jacobi. */
export function colourPca(covariance: ArrayLike<number>, channels = Math.round(Math.sqrt(covariance.length))): ColourPca {
  const c = channels;
  if (!Number.isInteger(c) || c < 1 || c > 4 || covariance.length !== c * c)
    throw new RangeError(`covariance must be a square [C, C] matrix with C in 1..4, got ${covariance.length} values`);
  const a = Float64Array.from(covariance);
  const scale = a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  for (let i = 0; i < c; i++)
    for (let j = 0; j < c; j++)
      if (!Number.isFinite(a[i * c + j]) || Math.abs(a[i * c + j] - a[j * c + i]) > 1e-6 * scale)
        throw new RangeError(`covariance must be finite and symmetric, got ${describe(Array.from(covariance))}`);
  const v = new Float64Array(c * c);
  for (let i = 0; i < c; i++) v[i * c + i] = 1;
  for (let sweep = 0; sweep < 64; sweep++) {
    let off = 0, diag = 0;
    for (let p = 0; p < c; p++) {
      diag += a[p * c + p] ** 2;
      for (let q = p + 1; q < c; q++) off += a[p * c + q] ** 2;
    }
    if (off <= 1e-32 * diag || off === 0) break;
    for (let p = 0; p < c; p++)
      for (let q = p + 1; q < c; q++) {
        const apq = a[p * c + q];
        if (apq === 0) continue;
        // The rotation that zeroes a[p][q]: t = tan(angle), the smaller root.
        const theta = (a[q * c + q] - a[p * c + p]) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const cos = 1 / Math.sqrt(t * t + 1), sin = t * cos;
        for (let k = 0; k < c; k++) {  // A <- A J (columns p, q)
          const akp = a[k * c + p], akq = a[k * c + q];
          a[k * c + p] = cos * akp - sin * akq;
          a[k * c + q] = sin * akp + cos * akq;
        }
        for (let k = 0; k < c; k++) {  // A <- J^T A (rows p, q)
          const apk = a[p * c + k], aqk = a[q * c + k];
          a[p * c + k] = cos * apk - sin * aqk;
          a[q * c + k] = sin * apk + cos * aqk;
        }
        for (let k = 0; k < c; k++) {  // V <- V J
          const vkp = v[k * c + p], vkq = v[k * c + q];
          v[k * c + p] = cos * vkp - sin * vkq;
          v[k * c + q] = sin * vkp + cos * vkq;
        }
      }
  }
  const order = Array.from({ length: c }, (_, i) => i).sort((x, y) => a[y * c + y] - a[x * c + x]);
  const eigenvalues = Float64Array.from(order, (k) => a[k * c + k]);
  const eigenvectors = new Float64Array(c * c);
  order.forEach((k, col) => {
    let largest = 0;
    for (let r = 0; r < c; r++) if (Math.abs(v[r * c + k]) > Math.abs(v[largest * c + k])) largest = r;
    const sign = v[largest * c + k] < 0 ? -1 : 1;
    for (let r = 0; r < c; r++) eigenvectors[r * c + col] = sign * v[r * c + k];
  });
  return { eigenvalues, eigenvectors };
}

/**
 * The colour offset of one image: P [alpha_1 lambda_1, ..., alpha_C lambda_C]^T (paper 4.1), or
 * with sqrtLambda the common re-implementation that uses sqrt(lambda) (not the paper's formula).
 */
export function colourOffset(pca: ColourPca, alpha: ArrayLike<number>, options: { sqrtLambda?: boolean } = {}): Float64Array {
  const c = pca.eigenvalues.length;
  if (alpha.length !== c) throw new RangeError(`alpha must have ${c} values, got ${alpha.length}`);
  const offset = new Float64Array(c);
  for (let r = 0; r < c; r++)
    for (let k = 0; k < c; k++) {
      const lambda = options.sqrtLambda ? Math.sqrt(Math.max(0, pca.eigenvalues[k])) : pca.eigenvalues[k];
      offset[r] += pca.eigenvectors[r * c + k] * (alpha[k] * lambda);
    }
  return offset;
}
