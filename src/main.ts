import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, parseConfig } from './config';
import { runHades } from './main/run';

// Compiled code (`node dist/main.js`) uses the workflow bundle `npm run build` wrote next to it,
// so the worker starts without webpack; HADES_WORKFLOW_BUNDLE still wins. From src/ (tsx) there
// is none, and the worker bundles the source as before.
function withBuiltBundle(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const built = join(__dirname, 'workflow-bundle.js');
  return env.HADES_WORKFLOW_BUNDLE || !existsSync(built) ? env : { ...env, HADES_WORKFLOW_BUNDLE: built };
}

// Entry point: `node dist/main.js` (or tsx src/main.ts). Reads `.env` when present, like Hades.
async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  let config;
  try {
    config = parseConfig(withBuiltBundle(process.env));
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`hades: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  let stopping = false;
  const starting = runHades(config, {
    // A role gave up: stop what runs, then exit 1 so a supervisor (compose, Kubernetes) restarts us.
    onFatal: (reason) => {
      console.error(`hades: ${reason}; exiting for a restart`);
      if (stopping) return;
      stopping = true;
      void starting.then((running) => running.stop()).finally(() => process.exit(1));
    },
  });
  const stop = (signal: string) => {
    if (stopping) {
      // A second signal: no more waiting for steps or requests in flight.
      console.error(`hades: ${signal} again, exiting now`);
      process.exit(130);
    }
    stopping = true;
    console.error(`hades: ${signal}, stopping (again to exit at once)`);
    // Listening from the start: a signal during start-up stops Hades once it is up. (As PID 1 in a
    // container, node would otherwise ignore a SIGTERM that came before these handlers.)
    starting.then((running) => running.stop()).then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  await starting;
}

main().catch((err: unknown) => {
  console.error('hades: failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
