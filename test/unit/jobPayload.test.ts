import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseJobPayload, parseMemory, priorityLevel, stepEnv, toJobSpec, withDefaultStepTimeout } from '../../src/job';

describe('parseMemory', () => {
  it('reads binary units like Docker (1G = 1024³)', () => {
    assert.equal(parseMemory('512M'), 512 * 1024 ** 2);
    assert.equal(parseMemory('2G'), 2 * 1024 ** 3);
    assert.equal(parseMemory('1.5g'), 1.5 * 1024 ** 3);
    assert.equal(parseMemory('1048576'), 1048576);
    assert.equal(parseMemory('64Mi'), 64 * 1024 ** 2);
  });
  it('refuses what it cannot read', () => {
    for (const bad of ['', 'lots', '12X', '-5M', 'M']) assert.equal(parseMemory(bad), undefined, bad);
  });
});

describe('priorityLevel', () => {
  it('maps Hades integers: ≥3 high, 2 medium, ≤1 low', () => {
    assert.deepEqual([5, 3, 2, 1, 0, -1].map(priorityLevel), ['high', 'high', 'medium', 'low', 'low', 'low']);
  });
});

describe('parseJobPayload', () => {
  const step = { id: 1, name: 's', image: 'busybox:1', script: 'true' };
  it('applies defaults and drops unknown fields', () => {
    const parsed = parseJobPayload({ name: 'j', steps: [{ ...step, workingDir: '/x', volumes: [] }], volumeMounts: [] });
    assert.ok(parsed.ok);
    assert.equal(parsed.payload.priority, 3);
    assert.equal('volumeMounts' in parsed.payload, false);
    assert.equal('workingDir' in (parsed.payload.steps[0] ?? {}), false);
  });
  it('names every bad field at once', () => {
    const parsed = parseJobPayload({
      steps: [
        { ...step, memory_swap: '1G' },
        { ...step, memory_limit: '1G', memory_swap: '512M', pids_limit: -1, network: 'bad net', timeout_seconds: -5 },
        { id: 1, image: '' },
      ],
      callback_url: 'ftp://x',
    });
    assert.equal(parsed.ok, false);
    const paths = parsed.ok ? [] : parsed.fields.map((f) => f.path).sort();
    assert.deepEqual(paths, [
      'callback_url',
      'name',
      'steps[0].memory_swap',
      'steps[1].id',
      'steps[1].memory_swap',
      'steps[1].network',
      'steps[1].pids_limit',
      'steps[1].timeout_seconds',
      'steps[2].id',
      'steps[2].image',
    ]);
  });
  it('refuses a body that is not an object', () => {
    for (const raw of [null, 'job', 42, []]) assert.equal(parseJobPayload(raw).ok, false);
  });
});

describe('toJobSpec and stepEnv', () => {
  it('normalises steps and builds the env Hades gives a step (step metadata wins)', () => {
    const parsed = parseJobPayload({
      name: 'env job',
      metadata: { GLOBAL: 'job', SHARED: 'job' },
      steps: [{ image: 'busybox:1', metadata: { SHARED: 'step' }, memory_limit: '512M', cpu_limit: 0.5 }],
    });
    assert.ok(parsed.ok);
    const spec = toJobSpec(parsed.payload, 'the-id', new Date('2026-01-01T00:00:00Z'));
    const first = spec.steps[0];
    assert.ok(first);
    assert.equal(first.id, '1');
    assert.equal(first.name, 'step 1');
    assert.equal(first.memoryBytes, 512 * 1024 ** 2);
    assert.equal(spec.priorityLevel, 'high');
    assert.deepEqual(stepEnv(spec, first), { GLOBAL: 'job', SHARED: 'step', UUID: 'the-id', JOB_NAME: 'env job' });
  });
});

describe('parseJobPayload bounds', () => {
  const job = (step: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ name: 'j', steps: [{ image: 'busybox:1', ...step }], ...extra });
  const paths = (raw: unknown) => {
    const parsed = parseJobPayload(raw);
    return parsed.ok ? [] : parsed.fields.map((f) => f.path);
  };
  it('refuses negative, fractional and absurd timeouts', () => {
    for (const t of [-1, 1.5, 8 * 24 * 3600]) {
      assert.deepEqual(paths(job({ timeout_seconds: t })), ['steps[0].timeout_seconds'], String(t));
      assert.deepEqual(paths(job({}, { timeout_seconds: t })), ['timeout_seconds'], String(t));
    }
  });
  it("reads 0 as no limit, as the current Hades and its Go clients mean it (a Go struct's zero value)", () => {
    const parsed = parseJobPayload(job({ timeout_seconds: 0, cpu_limit: 0, pids_limit: 0, memory_limit: '' }, { timeout_seconds: 0 }));
    assert.ok(parsed.ok);
    assert.equal(parsed.payload.timeout_seconds, undefined);
    assert.deepEqual([parsed.payload.steps[0]?.timeout_seconds, parsed.payload.steps[0]?.cpu_limit, parsed.payload.steps[0]?.pids_limit, parsed.payload.steps[0]?.memory_limit], [undefined, undefined, undefined, undefined]);
  });
  it('refuses memory below Docker minimum, negative pids, absurd cpus, metadata keys with =', () => {
    assert.deepEqual(paths(job({ memory_limit: '1M' })), ['steps[0].memory_limit']);
    assert.deepEqual(paths(job({ pids_limit: -1 })), ['steps[0].pids_limit']);
    assert.deepEqual(paths(job({ cpu_limit: -1 })), ['steps[0].cpu_limit']);
    assert.deepEqual(paths(job({ metadata: { 'A=B': 'x' } })), ['steps[0].metadata.A=B']);
    assert.deepEqual(paths(job({ metadata: { A: 1 } })), ['steps[0].metadata.A']);
  });
  it('accepts every network form Hades knows', () => {
    for (const network of ['none', 'bridge', 'host', 'default', 'my-net_1']) assert.deepEqual(paths(job({ network })), [], network);
  });
});

describe('parseJobPayload with an allowlist of step networks', () => {
  const job = (network?: string) => ({ name: 'n', steps: [{ image: 'a:1' }, { image: 'b:1', ...(network !== undefined && { network }) }] });
  const allowed = ['none', 'bridge', 'default'];

  it('accepts steps without a network and with an allowed one', () => {
    for (const network of [undefined, 'none', 'bridge', 'default']) assert.equal(parseJobPayload(job(network), { allowedNetworks: allowed }).ok, true, String(network));
  });

  it('refuses host and named networks, naming the step, the network and the setting that allows it', () => {
    for (const network of ['host', 'my-net']) {
      const parsed = parseJobPayload(job(network), { allowedNetworks: allowed });
      assert.equal(parsed.ok, false);
      if (parsed.ok) return;
      assert.deepEqual(
        parsed.fields.map((f) => f.path),
        ['steps[1].network'],
      );
      assert.match(parsed.fields[0]?.message ?? '', new RegExp(`"${network}" is not allowed .*none, bridge, default.*STEP_NETWORKS`));
    }
  });

  it('accepts what the operator added', () => {
    assert.equal(parseJobPayload(job('host'), { allowedNetworks: [...allowed, 'host'] }).ok, true);
  });
});

describe('withDefaultStepTimeout', () => {
  const spec = (payload: unknown) => {
    const parsed = parseJobPayload(payload);
    assert.ok(parsed.ok);
    return toJobSpec(parsed.payload, 'id', new Date('2026-01-01T00:00:00Z'));
  };
  it('gives each step without a timeout the default, when the job has none of its own', () => {
    const s = withDefaultStepTimeout(spec({ name: 'j', steps: [{ image: 'a' }, { image: 'b', timeout_seconds: 5 }] }), 3600);
    assert.deepEqual(s.steps.map((step) => step.timeoutSeconds), [3600, 5]);
  });
  it('leaves a job with its own timeout, and every step that has one, as they are', () => {
    const timed = spec({ name: 'j', timeout_seconds: 60, steps: [{ image: 'a' }] });
    assert.equal(withDefaultStepTimeout(timed, 3600), timed);
    assert.equal(withDefaultStepTimeout(timed, 3600).steps[0]?.timeoutSeconds, undefined);
    const all = spec({ name: 'j', steps: [{ image: 'a', timeout_seconds: 9 }] });
    assert.equal(withDefaultStepTimeout(all, 3600), all);
  });
});
