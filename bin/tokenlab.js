#!/usr/bin/env node
"use strict";
// Plain JavaScript so no build step is needed: tsx compiles kernel/ and lib/ on load.
require("tsx/cjs");
const { main } = require("../kernel/cli.ts");

main(process.argv.slice(2), __filename).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`tokenlab: ${error && error.stack ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
