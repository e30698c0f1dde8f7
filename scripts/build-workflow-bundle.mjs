// `npm run build`, after tsc: bundles the compiled workflow code (dist/workflows) once into
// dist/workflow-bundle.js, so a production worker (`node dist/main.js`) loads it instead of
// running webpack at every start. dist/main.js picks it up when HADES_WORKFLOW_BUNDLE is unset.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { bundleWorkflowCode } = require('@temporalio/worker');

const workflowsPath = join(root, 'dist', 'workflows', 'index.js');
const out = join(root, 'dist', 'workflow-bundle.js');
const quiet = () => undefined;
const started = Date.now();
const { code } = await bundleWorkflowCode({
  workflowsPath,
  logger: { log: quiet, trace: quiet, debug: quiet, info: quiet, warn: (m) => console.warn(m), error: (m) => console.error(m) },
});
writeFileSync(out, code);
console.log(`workflow bundle: ${out} (${Math.round(code.length / 1024)} KiB, ${Date.now() - started} ms)`);
