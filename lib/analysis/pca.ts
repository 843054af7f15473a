/**
 * Principal component analysis of the rows of a matrix, in float64 on the CPU (d is the hidden
 * size, small enough). Components come from power iteration with deflation on the covariance
 * matrix; each is normalized and its sign fixed so the largest-magnitude coordinate is positive
 * (a deterministic choice; PCA itself is defined only up to sign). The products run in the native
 * BLAS when there is one (float64 still), else in JS.
 */
import { nativeBlas, type NativeBlas } from "../backend/native-blas";

export interface Pca {
  mean: Float64Array;
  /** components[c] is a unit vector of length d. */
  components: Float64Array[];
  /** Variance along each component (eigenvalues of the covariance, descending). */
  variances: number[];
  /** Projects a row (length d) onto the components. */
  project(row: ArrayLike<number>): number[];
}

export function fitPca(rows: ArrayLike<number>, rowCount: number, dim: number, componentCount = 2, iterations = 500): Pca {
  const mean = new Float64Array(dim);
  for (let r = 0; r < rowCount; r++) for (let j = 0; j < dim; j++) mean[j] += rows[r * dim + j] / rowCount;
  const centered = new Float64Array(rowCount * dim);
  for (let r = 0; r < rowCount; r++) for (let j = 0; j < dim; j++) centered[r * dim + j] = rows[r * dim + j] - mean[j];
  const blas = nativeBlas();
  const multiply = blas ? blasMultiply(blas) : jsMultiply;
  const cov = covariance(centered, rowCount, dim, blas);

  const components: Float64Array[] = [];
  const variances: number[] = [];
  for (let c = 0; c < Math.min(componentCount, dim); c++) {
    let vector: Float64Array = new Float64Array(dim).map((_, j) => 1 + ((j * 7919 + c * 104729) % 97) / 97);
    let eigenvalue = 0;
    for (let it = 0; it < iterations; it++) {
      const next = multiply(cov, vector, dim);
      const norm = Math.hypot(...next);
      if (norm === 0) break;
      for (let j = 0; j < dim; j++) next[j] /= norm;
      const change = Math.abs(Math.abs(dot(next, vector)) - 1);
      vector = next;
      eigenvalue = norm;
      if (change < 1e-15) break;
    }
    eigenvalue = dot(vector, multiply(cov, vector, dim));
    let largest = 0;
    for (let j = 0; j < dim; j++) if (Math.abs(vector[j]) > Math.abs(vector[largest])) largest = j;
    if (vector[largest] < 0) for (let j = 0; j < dim; j++) vector[j] = -vector[j];
    components.push(vector);
    variances.push(eigenvalue);
    // Deflate: remove this component so the next power iteration finds the next one.
    for (let a = 0; a < dim; a++) for (let b = 0; b < dim; b++) cov[a * dim + b] -= eigenvalue * vector[a] * vector[b];
  }
  return {
    mean,
    components,
    variances,
    project: (row) => components.map((component) => {
      let sum = 0;
      for (let j = 0; j < dim; j++) sum += (row[j] - mean[j]) * component[j];
      return sum;
    }),
  };
}

/**
 * The covariance [dim, dim] of the centered rows: Xᵀ·X / (n - 1), as numpy.cov. In float64 in the native BLAS when there is one: at 4000 rows × 2048 that is 17
 * GFLOP, over a minute in JS.
 */
function covariance(centered: Float64Array, rowCount: number, dim: number, blas: NativeBlas | undefined): Float64Array {
  const cov = new Float64Array(dim * dim);
  if (blas) {
    blas.matmulFloat64(centered, centered, cov, dim, dim, rowCount, true, false);
  } else {
    for (let r = 0; r < rowCount; r++) {
      const row = centered.subarray(r * dim, (r + 1) * dim);
      for (let a = 0; a < dim; a++) {
        const ca = row[a];
        if (ca === 0) continue;
        for (let b = 0; b < dim; b++) cov[a * dim + b] += ca * row[b];
      }
    }
  }
  const denominator = Math.max(1, rowCount - 1);
  for (let i = 0; i < cov.length; i++) cov[i] /= denominator;
  return cov;
}

type Multiply = (matrix: Float64Array, vector: Float64Array, dim: number) => Float64Array;

function jsMultiply(matrix: Float64Array, vector: Float64Array, dim: number): Float64Array {
  const out = new Float64Array(dim);
  for (let a = 0; a < dim; a++) {
    let sum = 0;
    for (let b = 0; b < dim; b++) sum += matrix[a * dim + b] * vector[b];
    out[a] = sum;
  }
  return out;
}

function blasMultiply(blas: NativeBlas): Multiply {
  return (matrix, vector, dim) => {
    const out = new Float64Array(dim);
    blas.matmulFloat64(matrix, vector, out, dim, 1, dim, false, false);
    return out;
  };
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let j = 0; j < a.length; j++) sum += a[j] * b[j];
  return sum;
}
