// `npm run test:fast`: the suite minus the tests that need a browser, the example notebooks, a
// Python reference (PyTorch, numpy) or Python Jupyter clients. Needs nothing but `npm ci`.
const base = require("../.mocharc.json");

module.exports = {
  ...base,
  spec: ["test"],
  ignore: [
    "test/notebooks/**",
    "test/widgets/widgets-browser.test.ts",
    "test/scripts/demo.test.ts",
    "test/nbtest/nbtest-cli.test.ts",
    "test/kernel/conformance.test.ts",
    "test/kernel/jupyter-console.test.ts",
    "test/kernel/nbconvert.test.ts",
    "test/kernel/kernelspec.test.ts",
    "test/kernel/protocol/wire.test.ts",
    "test/models/golden-outputs.test.ts",
    "test/models/load-save.test.ts",
    "test/hf/safetensors.test.ts",
    "test/analysis/pca.test.ts",
    "test/export/export-recipe.test.ts",
    "test/display/figure.test.ts",
    "test/tokens/add-tokens.test.ts",
    "test/tokens/init-strategies.test.ts",
    "test/tokens/save-round-trip.test.ts",
    "test/train/layer-groups.test.ts",
    "test/train/primitives.test.ts",
  ],
};
