import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ratioRefusal, type BlasReport } from "../../bench/torch-process";

const BENCH_DIR = path.resolve(__dirname, "../../bench");

/** Runs `code` in the system python3 with bench/torch_train_step.py importable; returns its stdout as JSON. */
function python(code: string): unknown {
  const script = `import json, sys\nsys.path.insert(0, ${JSON.stringify(BENCH_DIR)})\nimport torch_train_step as bench\n${code}`;
  return JSON.parse(execFileSync("/usr/bin/python3", ["-c", script], { encoding: "utf8", env: { ...process.env, OMP_NUM_THREADS: "1" } }));
}

const report = (kind: string): BlasReport => ({ kind, libraries: ["/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"], build_blas_info: "generic", matmul_gflops: 4.8 });

describe("the benchmark's PyTorch reference is honest about its BLAS", () => {
  it("classifies the loaded libraries: Debian's reference libblas, OpenBLAS through the alternatives, MKL", () => {
    const kinds = python(
      "print(json.dumps([bench.blas_kind(libs, build) for libs, build in [" +
        "(['/usr/lib/x86_64-linux-gnu/blas/libblas.so.3', '/usr/lib/x86_64-linux-gnu/lapack/liblapack.so.3'], 'generic')," +
        "(['/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3', '/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so'], 'generic')," +
        "(['/opt/intel/lib/libmkl_rt.so.2'], None)," +
        "([], 'mkl')]]))",
    );
    assert.deepEqual(kinds, ["reference", "openblas", "mkl", "mkl"]);
  });

  it("refuses a ratio against the reference BLAS and says how to fix it, and allows one against OpenBLAS", () => {
    const refusal = ratioRefusal(report("reference"));
    assert.match(refusal ?? "", /reference BLAS/);
    assert.match(refusal ?? "", /libopenblas0-pthread/);
    assert.match(refusal ?? "", /4\.8 GFLOP\/s/);
    assert.equal(ratioRefusal(report("openblas")), undefined);
  });

  it("reports the BLAS this machine's PyTorch really loaded (the OpenBLAS .ci/run installs) and a positive GFLOP/s", () => {
    const live = python("print(json.dumps(bench.blas_report()))") as BlasReport;
    assert.equal(live.kind, "openblas", `PyTorch loaded ${live.libraries.join(", ")}: install libopenblas0-pthread`);
    assert.ok(live.libraries.length > 0 && live.libraries.every((file) => fs.existsSync(file)), live.libraries.join(", "));
    assert.ok(live.matmul_gflops > 0, String(live.matmul_gflops));
  });
});
