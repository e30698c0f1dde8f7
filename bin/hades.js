#!/usr/bin/env node
// The `hades` CLI: runs the TypeScript source through tsx (a dependency), so no build is needed.
require('tsx/cjs');
const { run } = require('../src/cli/main.ts');
const { readFileSync } = require('node:fs');

run(process.argv.slice(2), {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
  env: process.env,
  stdin: () => readFileSync(0, 'utf8'),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error('hades:', err);
    process.exitCode = 1;
  },
);
