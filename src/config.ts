import { hostname } from 'node:os';
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { parseMemory } from './job/limits';
import { parseEncryptionKeys } from './temporal/encryptionKeys';
import type { EncryptionKey } from './temporal/encryptionKeys';

// One schema over the environment, parsed once at start and passed down. Nothing below this
// file reads process.env. Names follow the original Hades where it has one (API_PORT,
// AUTH_KEY, CONCURRENCY, DOCKER_*).

const positiveInt = z.coerce.number().int().positive();
/** A size such as 512M or 2G (1G = 1024³ bytes), as bytes. */
const size = z.string().transform((v, ctx) => {
  const bytes = parseMemory(v);
  if (bytes === undefined) ctx.addIssue({ code: 'custom', message: 'not a size such as 512M or 2G' });
  return bytes ?? 0;
});
/** A path to a file that must exist (certificates, keys, credentials). */
const file = z.string().min(1).refine((p) => existsSync(p), 'no such file');
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const roleNames = ['api', 'bridge', 'worker'] as const;
export type Role = (typeof roleNames)[number];

/** 127.0.0.0/8, ::1 and localhost: only this machine reaches it. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export const configSchema = z.object({
  HADES_ROLES: z
    .string()
    .default('api,bridge,worker')
    .transform((s) => s.split(',').map((r) => r.trim()).filter(Boolean))
    .pipe(z.array(z.enum(roleNames)).min(1)),
  HADES_EXECUTOR: z.enum(['docker', 'kubernetes']).default('docker'),
  // 0 picks a free port (tests).
  API_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  // Loopback unless told otherwise; beyond it the API needs AUTH_KEY (or the explicit opt-out).
  API_HOST: z.string().min(1).default('127.0.0.1'),
  // The API may listen beyond loopback with no AUTH_KEY: only where something else guards it
  // (a port published on 127.0.0.1 only, an authenticating proxy, a private network).
  API_ALLOW_UNAUTHENTICATED: bool.default(false),
  // A process without the api role serves GET /metrics here (its own: a worker's steps and
  // jobs, a bridge's starts); unset: none. On METRICS_HOST, loopback unless told otherwise.
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  AUTH_KEY: z.string().optional(),
  CONCURRENCY: positiveInt.default(1),
  // Callbacks and cleanups a worker runs at once, apart from its steps (they never take a step's slot).
  SERVICE_CONCURRENCY: positiveInt.default(20),

  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('hades'),
  // TLS to the frontend: TEMPORAL_TLS=true with the system roots, or a CA file (implies TLS);
  // CERT+KEY for mTLS; SERVER_NAME overrides the name checked in the server's certificate.
  TEMPORAL_TLS: bool.default(false),
  TEMPORAL_TLS_CA: file.optional(),
  TEMPORAL_TLS_CERT: file.optional(),
  TEMPORAL_TLS_KEY: file.optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
  // Sent as a bearer token (Temporal Cloud API keys); implies TLS.
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  // Encrypts what Temporal stores (job input, memo, step input and results) with AES-256-GCM:
  // `id:base64key,...`, the first encrypts, all decrypt (rotation). Unset: stored in clear.
  HADES_ENCRYPTION_KEYS: z
    .string()
    .optional()
    .transform((v, ctx): EncryptionKey[] | undefined => {
      if (v === undefined) return undefined;
      const parsed = parseEncryptionKeys(v);
      if ('error' in parsed) {
        ctx.addIssue({ code: 'custom', message: parsed.error });
        return z.NEVER;
      }
      return parsed.keys;
    }),
  // Origins (the Temporal Web UI's) whose pages may call the API's /codec routes: comma-separated.
  CODEC_CORS_ORIGINS: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((o) => o.trim().replace(/\/+$/, '')).filter(Boolean))
    .pipe(z.array(z.url({ protocol: /^https?$/, error: 'not an origin such as http://localhost:8233' }))),
  // A workflow bundle built ahead (bundleWorkflowCode): the worker starts without webpack.
  HADES_WORKFLOW_BUNDLE: z.string().min(1).optional(),

  // One server or several, comma-separated (a cluster): nats://host:4222,tls://host2:4222
  NATS_URL: z.string().min(1).default('nats://127.0.0.1:4222'),
  // Copies of every Hades stream and bucket: 3 on a three-node JetStream cluster, 1 on one server.
  NATS_REPLICAS: z.coerce.number().int().min(1).max(5).default(1),
  // Authentication, at most one kind: a .creds file (JWT), an NKey seed file, a token, or user+password.
  NATS_CREDS: file.optional(),
  NATS_NKEY: file.optional(),
  NATS_TOKEN: z.string().min(1).optional(),
  NATS_USER: z.string().min(1).optional(),
  NATS_PASSWORD: z.string().min(1).optional(),
  // TLS: a CA file (implies TLS), and a client certificate+key when the server verifies clients.
  NATS_TLS_CA: file.optional(),
  NATS_TLS_CERT: file.optional(),
  NATS_TLS_KEY: file.optional(),
  NATS_JOB_STREAM: z.string().regex(/^[A-Za-z0-9_-]+$/).default('HADES_JOBS'),
  NATS_JOB_SUBJECT_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]+$/).default('hades.jobs'),
  NATS_CONSUMER: z.string().regex(/^[A-Za-z0-9_-]+$/).default('hades-bridge'),
  NATS_SUBMISSIONS_BUCKET: z.string().regex(/^[A-Za-z0-9_-]+$/).default('HADES_SUBMISSIONS'),
  // Job ids that were started, remembered this long so a re-published job never runs again.
  NATS_STARTED_BUCKET: z.string().regex(/^[A-Za-z0-9_-]+$/).default('HADES_STARTED'),
  JOB_ID_MEMORY_DAYS: z.coerce.number().positive().default(365),
  // JetStream drops a re-published message id within this window; the bridge catches the rest.
  NATS_DUPLICATE_WINDOW_SECONDS: z.coerce.number().positive().default(120),
  // A job message the bridge neither acked nor terminated (a failed start: Temporal down; a
  // bridge that died holding it) is handed out again by JetStream after the consumer's backoff,
  // doubling from 2 s up to this; at most BRIDGE_MAX_DELIVERIES times, the last failing start
  // moves it to the dead letters (the job reads Failed, "never started").
  BRIDGE_RETRY_MAX_SECONDS: z.coerce.number().min(1).default(30),
  BRIDGE_MAX_DELIVERIES: z.coerce.number().int().min(2).default(200),
  // Fault injection for tests only: crash the bridge between a workflow start and its ack; or
  // make each of its starts take a second (a window in which to stop it with messages in hand);
  // or crash the worker after a step ended, before Temporal has its result; or crash it when
  // it is about to publish a job's end on the status feed.
  HADES_FAULT: z.enum(['bridge-crash-after-start', 'bridge-slow-start', 'worker-crash-after-step', 'worker-crash-before-status']).optional(),
  // On SIGTERM: how long running steps (and API requests in flight) may take to finish before
  // the worker hands its steps back to Temporal (another worker re-attaches to their containers).
  SHUTDOWN_GRACE_SECONDS: z.coerce.number().nonnegative().default(20),

  // The status feed: every job transition on core NATS, in the current Hades's words on
  // <NATS_STATUS_SUBJECT_PREFIX>.<Status> (payload: the job id), and in this project's own on
  // <NATS_EVENTS_SUBJECT_PREFIX>.<job id> (JSON).
  NATS_STATUS_SUBJECT_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]+$/).default('hades.jobstatus'),
  NATS_EVENTS_SUBJECT_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]+$/).default('hades.jobevents'),
  // The current Hades's job bucket: a submission that is only a job id (16 bytes, or 36
  // characters) is read from it; SUBMIT_FORMAT=reference makes POST /build write the current
  // Hades's way (the payload in this bucket, the 16-byte id on the stream) instead of the whole
  // job as one message (payload, the default).
  NATS_PAYLOAD_BUCKET: z.string().regex(/^[A-Za-z0-9_-]+$/).default('HADES_JOBS'),
  SUBMIT_FORMAT: z.enum(['payload', 'reference']).default('payload'),

  NATS_LOG_STREAM: z.string().regex(/^[A-Za-z0-9_-]+$/).default('HADES_JOB_LOGS'),
  NATS_LOG_SUBJECT_PREFIX: z.string().regex(/^[A-Za-z0-9_.-]+$/).default('hades.logs'),
  // Logs are kept this long (and the stream at most this large; oldest go first).
  LOG_RETENTION_HOURS: z.coerce.number().positive().default(72),
  LOG_STREAM_MAX_BYTES: size.prefault('1G'),
  // What one step may write to the log before it is cut (marked as cut), and one line's limit.
  LOG_MAX_BYTES_PER_STEP: size.prefault('10M'),
  LOG_MAX_LINE_BYTES: positiveInt.default(64 * 1024),

  // callback_url: how long a receiver may be down before its callback is given up (backoff doubles).
  CALLBACK_MAX_ATTEMPTS: positiveInt.default(20),
  CALLBACK_INITIAL_INTERVAL_SECONDS: z.coerce.number().positive().default(1),
  CALLBACK_MAX_INTERVAL_SECONDS: z.coerce.number().positive().default(60),
  CALLBACK_TIMEOUT_SECONDS: positiveInt.default(10),
  // The callback body keeps the newest log lines within this size (a marker says what was left out).
  CALLBACK_MAX_LOG_BYTES: size.prefault('4M'),

  DOCKER_HOST: z.string().optional(),
  DOCKER_SCRIPT_EXECUTOR: z.string().min(1).default('/bin/sh -c'),
  DOCKER_PULL_POLICY: z.enum(['if-not-present', 'always']).default('if-not-present'),
  DOCKER_PULL_TIMEOUT_SECONDS: positiveInt.default(300),
  DOCKER_CLEANUP: bool.default(true),
  // Each worker looks this often for containers and volumes of jobs whose workflow no longer
  // runs (terminated; cleanup out of retries) and older than the grace, and removes them.
  REAPER_INTERVAL_SECONDS: positiveInt.default(300),
  REAPER_GRACE_SECONDS: z.coerce.number().int().nonnegative().default(60),
  DOCKER_CPU_LIMIT: z.coerce.number().positive().optional(),
  DOCKER_MEMORY_LIMIT: size.optional(),
  // Docker: a job's /shared may hold this much; past it the running step is killed and the job
  // fails (checked every JOB_STORAGE_CHECK_SECONDS). 0: no limit.
  JOB_STORAGE_LIMIT: z.union([z.literal('0').transform(() => 0), size]).default(10 * 1024 ** 3),
  JOB_STORAGE_CHECK_SECONDS: positiveInt.default(5),
  // At most this many processes per step container (a step's pids_limit may ask for fewer); 0: no cap.
  DOCKER_PIDS_LIMIT: z.coerce.number().int().nonnegative().default(4096),
  // A step of a job without timeout_seconds, that has none itself, is killed after this long.
  STEP_TIMEOUT_SECONDS: positiveInt.max(7 * 24 * 3600).default(6 * 3600),

  // HADES_EXECUTOR=kubernetes: steps run as pods. Cluster access from KUBECONFIG, else the
  // pod's own service account (in-cluster), else ~/.kube/config.
  KUBECONFIG: z.string().min(1).optional(),
  K8S_NAMESPACE: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'not a namespace name').default('hades-executor'),
  // The class of each job's /shared claim (unset: the cluster's default class) and its size.
  K8S_STORAGE_CLASS: z.string().min(1).optional(),
  K8S_VOLUME_SIZE: size.prefault('1G'),
  // A pod the scheduler cannot place for this long fails its step with the scheduler's reason.
  K8S_SCHEDULE_TIMEOUT_SECONDS: positiveInt.default(300),
  // What the scheduler reserves for each step (never more than the step's limit).
  K8S_CPU_REQUEST: z.coerce.number().positive().default(0.1),
  K8S_MEMORY_REQUEST: size.prefault('64M'),
  K8S_RUN_AS_USER: z.coerce.number().int().min(0).optional(),
  K8S_RUN_AS_GROUP: z.coerce.number().int().min(0).optional(),
  K8S_RUN_AS_NON_ROOT: bool.default(false),
  // Capabilities added back after dropping all; `none` for none.
  K8S_CAPABILITIES: z
    .string()
    .default('CHOWN,DAC_OVERRIDE,FOWNER,FSETID,KILL,SETGID,SETUID')
    .transform((s) => (s.trim() === 'none' ? [] : s.split(',').map((c) => c.trim().toUpperCase()).filter(Boolean)))
    .pipe(z.array(z.string().regex(/^[A-Z_]+$/, 'not a capability name such as CHOWN'))),
  // A RuntimeClass whose pods get no interface but lo, used for `network: none` (besides the policy).
  K8S_NETWORKLESS_RUNTIME_CLASS: z.string().min(1).optional(),


  // The networks a step may ask for; any other (`host`, a named network) is refused at submission.
  STEP_NETWORKS: z
    .string()
    .default('none,bridge,default')
    .transform((s) => s.split(',').map((n) => n.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/, 'not a network name')).min(1)),

  // A step that waited this long for a worker goes ahead of fresh high-priority work.
  PRIORITY_AGING_SECONDS: positiveInt.default(300),

  // Docker workers on several hosts: each job runs all its steps on the host that claimed it
  // (where its /shared volume is), through a task queue of that host's own, <queue>.host.<id>.
  // Set on the bridge and every worker alike.
  PIN_JOBS_TO_HOST: bool.default(false),
  // This worker's host (default: the machine's hostname); workers on one Docker host share it.
  HADES_HOST_ID: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only').default(hostname()),
  // A pinned step waiting this long makes its job ask whether its host is there; a host whose
  // queue no worker polled for HOST_LOST_SECONDS is lost, and its jobs start over elsewhere.
  HOST_CHECK_SECONDS: positiveInt.default(30),
  HOST_LOST_SECONDS: positiveInt.default(150),

  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
}).superRefine((c, ctx) => {
  // Settings that only make sense together.
  const pairs: [keyof typeof c, keyof typeof c][] = [
    ['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY'],
    ['NATS_TLS_CERT', 'NATS_TLS_KEY'],
    ['NATS_USER', 'NATS_PASSWORD'],
  ];
  for (const [a, b] of pairs) {
    if ((c[a] === undefined) !== (c[b] === undefined)) {
      const missing = c[a] === undefined ? a : b;
      ctx.addIssue({ code: 'custom', path: [missing], message: `${a} and ${b} go together: set both or neither` });
    }
  }
  if (!isLoopback(c.API_HOST) && !c.AUTH_KEY && !c.API_ALLOW_UNAUTHENTICATED && c.HADES_ROLES.includes('api')) {
    ctx.addIssue({
      code: 'custom',
      path: ['API_HOST'],
      message: `${c.API_HOST} serves the API beyond this machine with no AUTH_KEY: set AUTH_KEY, or API_ALLOW_UNAUTHENTICATED=true if something else guards it`,
    });
  }
  const natsAuth = (['NATS_CREDS', 'NATS_NKEY', 'NATS_TOKEN', 'NATS_USER'] as const).filter((k) => c[k] !== undefined);
  if (natsAuth.length > 1) {
    ctx.addIssue({ code: 'custom', path: [natsAuth[1]!], message: `set one of ${natsAuth.join(', ')}, not several` });
  }
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly issues: string[]) {
    super(`invalid configuration:\n  ${issues.join('\n  ')}`);
  }
}

/** Values never repeated in an error message. */
const secretSettings = new Set(['AUTH_KEY', 'HADES_ENCRYPTION_KEYS', 'TEMPORAL_API_KEY', 'NATS_TOKEN', 'NATS_PASSWORD']);

/** Parses an environment (process.env at start, a literal in tests); throws ConfigError naming each bad variable. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  // An empty value means "unset", as in a .env file with `AUTH_KEY=`.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = configSchema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((i) => {
        const name = String(i.path[0] ?? '?');
        const shown = secretSettings.has(name) ? '(hidden)' : JSON.stringify(cleaned[name] ?? '');
        return `${name}=${shown}: ${i.message}`;
      }),
    );
  }
  return result.data;
}
