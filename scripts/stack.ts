// `npm start`: the whole stack in the foreground — Temporal dev server (state in .hades/), nats-server
// with JetStream (store in .hades/), and Hades's worker, bridge and API in this process.
// Ctrl-C stops all of it.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError, parseConfig } from '../src/config';
import { runHades } from '../src/main/run';
import { assertPortsFree, killOnExit, projectRoot, startNats, startTemporal, tracked } from './services';
import type { Service } from './services';

const stackSchema = z.object({
  TEMPORAL_PORT: z.coerce.number().int().min(1).max(65535).default(7233),
  TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
  NATS_PORT: z.coerce.number().int().min(1).max(65535).default(4222),
  // Where Temporal (gRPC, Web UI) listens: loopback, as NATS and the API, unless told otherwise.
  TEMPORAL_IP: z.string().min(1).default('127.0.0.1'),
  HADES_DATA_DIR: z.string().min(1).default(join(projectRoot, '.hades')),
});

async function main(): Promise<void> {
  if (existsSync(join(projectRoot, '.env'))) process.loadEnvFile(join(projectRoot, '.env'));
  const env = Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== ''));
  const parsed = stackSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${String(i.path[0])}=${JSON.stringify(env[String(i.path[0])] ?? '')}: ${i.message}`));
  }
  const stack = parsed.data;
  // With encryption on, the Web UI decodes through the API's /codec routes (as the README shows
  // for any deployment): the UI is told where they are, and the API lets the UI's pages call them.
  const uiOrigins = [`http://localhost:${stack.TEMPORAL_UI_PORT}`, `http://127.0.0.1:${stack.TEMPORAL_UI_PORT}`].join(',');
  const config = parseConfig({
    ...(env.HADES_ENCRYPTION_KEYS && { CODEC_CORS_ORIGINS: uiOrigins }),
    ...env,
    TEMPORAL_ADDRESS: `127.0.0.1:${stack.TEMPORAL_PORT}`,
    NATS_URL: `nats://127.0.0.1:${stack.NATS_PORT}`,
  });
  const dataDir = stack.HADES_DATA_DIR;
  const logDir = join(dataDir, 'logs');
  mkdirSync(logDir, { recursive: true });

  const services: (Service & { pid?: number })[] = [];
  killOnExit(services);
  let hades: { stop(): Promise<void> } | undefined;
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('\n[hades] stopping…');
    await hades?.stop().catch((err: unknown) => console.error(err));
    await Promise.allSettled(services.map((s) => s.stop()));
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    await assertPortsFree({ TEMPORAL_PORT: stack.TEMPORAL_PORT, TEMPORAL_UI_PORT: stack.TEMPORAL_UI_PORT, NATS_PORT: stack.NATS_PORT, API_PORT: config.API_PORT });
    await Promise.all([
      tracked(
        services,
        startTemporal({
          port: stack.TEMPORAL_PORT,
          uiPort: stack.TEMPORAL_UI_PORT,
          dbFile: join(dataDir, 'temporal.db'),
          logDir,
          ip: stack.TEMPORAL_IP,
          ...(config.HADES_ENCRYPTION_KEYS && { uiCodecEndpoint: `http://localhost:${config.API_PORT}/codec` }),
        }),
      ),
      tracked(services, startNats({ port: stack.NATS_PORT, storeDir: join(dataDir, 'nats'), logDir })),
    ]);
    const running = await runHades(config);
    hades = running;
    console.log(
      [
        '',
        'Hades is running.',
        `  API            http://localhost:${running.apiPort ?? config.API_PORT}   (POST /build, GET /jobs/{id}, GET /ping)`,
        `  Temporal UI    http://localhost:${stack.TEMPORAL_UI_PORT}`,
        `  Temporal gRPC  127.0.0.1:${stack.TEMPORAL_PORT}`,
        `  NATS           nats://127.0.0.1:${stack.NATS_PORT}`,
        `  State and logs ${dataDir}`,
        'Press Ctrl-C to stop.',
        '',
      ].join('\n'),
    );
  } catch (err) {
    console.error('[hades] failed to start:', err instanceof Error ? err.message : err);
    await stop(1);
  }
}

main().catch((err: unknown) => {
  console.error('[hades]', err instanceof Error ? err.message : err);
  process.exit(1);
});
