import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fitPca } from "../../lib/analysis/pca";
import { nativeBlasStatus, useNativeBlas } from "../../lib/backend/native-blas";
import { seededRandom } from "../../lib/random/seeded-random";

describe("PCA", () => {
  after(() => useNativeBlas(true));

  for (const native of [true, false])
  it(`matches numpy's eigen-decomposition of the covariance (components up to sign, variances, projections; ${native ? "native BLAS" : "JS"})`, () => {
    useNativeBlas(native);
    assert.equal(nativeBlasStatus().active, native, JSON.stringify(nativeBlasStatus()));
    const random = seededRandom(5);
    const rows = 60;
    const dim = 12;
    // Anisotropic data: a few strong directions plus noise, so the top components are well separated.
    const data = new Float32Array(rows * dim);
    for (let r = 0; r < rows; r++) {
      const a = (random() - 0.5) * 6;
      const b = (random() - 0.5) * 3;
      for (let j = 0; j < dim; j++) data[r * dim + j] = a * Math.sin(j + 1) + b * Math.cos(2 * j) + (random() - 0.5) * 0.3 + j * 0.1;
    }
    const pca = fitPca(data, rows, dim, 2);
    const script = [
      "import json, sys, numpy as np",
      "d = json.load(sys.stdin); x = np.array(d['x'], dtype=np.float64).reshape(d['n'], d['d'])",
      "w, v = np.linalg.eigh(np.cov(x, rowvar=False)); order = np.argsort(w)[::-1][:2]",
      "proj = (x - x.mean(0)) @ v[:, order]",
      "print(json.dumps({'w': w[order].tolist(), 'v': v[:, order].T.tolist(), 'proj': proj.tolist()}))",
    ].join("\n");
    const reference = JSON.parse(
      execFileSync("/usr/bin/python3", ["-c", script], { input: JSON.stringify({ x: [...data], n: rows, d: dim }) }).toString(),
    );
    for (let c = 0; c < 2; c++) {
      assert.ok(Math.abs(pca.variances[c] - reference.w[c]) < 1e-8 * reference.w[0], `variance ${c}`);
      const sign = Math.sign([...pca.components[c]].reduce((s, x, j) => s + x * reference.v[c][j], 0));
      pca.components[c].forEach((x, j) => assert.ok(Math.abs(x - sign * reference.v[c][j]) < 1e-6, `component ${c}[${j}]`));
      for (let r = 0; r < rows; r++) {
        const projected = pca.project(data.subarray(r * dim, (r + 1) * dim));
        assert.ok(Math.abs(projected[c] - sign * reference.proj[r][c]) < 1e-6, `projection ${r},${c}`);
      }
    }
  });
});
