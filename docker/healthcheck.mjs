// The image's HEALTHCHECK. It reads the environment Hades itself started with (PID 1's: the entry
// script execs node), plus /app/.env as Hades does, so it checks the roles that really run:
//   api in the roles   GET /healthz on API_PORT must answer 200 within 3 s;
//   bridge, worker     no HTTP server: healthy while Hades (node) is PID 1. These roles exit on a
//                      fatal error (and the worker supervisor replaces a worker that stops), so a
//                      broken one shows up as a stopped container for the restart policy to handle.
import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';

function processEnv(pid) {
  const env = {};
  for (const entry of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

function fail(message) {
  console.error(`unhealthy: ${message}`);
  process.exit(1);
}

let env;
try {
  env = processEnv(1);
} catch (err) {
  fail(`cannot read the environment of PID 1 (${err.message})`);
}
// Real env vars win over .env, as in src/main.ts; an empty value means unset, as in src/config.ts.
const fromFile = existsSync('/app/.env') ? parseEnv(readFileSync('/app/.env', 'utf8')) : {};
const get = (name) => env[name] || fromFile[name] || undefined;

const cmdline = readFileSync('/proc/1/cmdline', 'utf8').split('\0');
if (!/(^|\/)node$/.test(cmdline[0] ?? '')) fail(`PID 1 is ${cmdline.join(' ')}, not Hades`);

const roles = (get('HADES_ROLES') ?? 'api,bridge,worker').split(',').map((r) => r.trim());
if (!roles.includes('api')) {
  console.log(`ok: ${roles.join(',')} running (no HTTP server to ask)`);
  process.exit(0);
}
const host = get('API_HOST') ?? '0.0.0.0';
const port = get('API_PORT') ?? '8080';
const target = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
const url = `http://${target.includes(':') ? `[${target}]` : target}:${port}/healthz`;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  if (res.status !== 200) fail(`${url} answered ${res.status}`);
  console.log(`ok: ${url} answered 200`);
} catch (err) {
  fail(`${url}: ${err.cause?.code ?? err.message}`);
}
