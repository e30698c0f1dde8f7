import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseJobPayload, stepEnv, toJobSpec, withDefaultStepTimeout } from '../../src/job';

// Property-based: the job schema and its normalisation, over generated input (fast-check). One
// seed (HADES_FC_SEED, default 42) so CI is reproducible; set another to explore.
fc.configureGlobal({ seed: Number(process.env.HADES_FC_SEED ?? 42) });

const imageArb = fc.stringMatching(/^[a-z0-9][a-z0-9._\-/:]{0,40}$/);
const envKeyArb = fc.string({ minLength: 1, maxLength: 20 }).filter((k) => !k.includes('=') && !k.includes('\0') && k !== '__proto__');
const metadataArb = fc.dictionary(envKeyArb, fc.string({ maxLength: 50 }), { maxKeys: 5 });
const stepArb = fc.record(
  {
    name: fc.string({ maxLength: 40 }),
    image: imageArb,
    script: fc.string({ maxLength: 200 }),
    continue_on_error: fc.boolean(),
    metadata: metadataArb,
    cpu_limit: fc.double({ min: 0.01, max: 64, noNaN: true }),
    memory_limit: fc.constantFrom('64M', '512M', '1G', '2g'),
    pids_limit: fc.integer({ min: 1, max: 100_000 }),
    network: fc.constantFrom('none', 'bridge', 'default'),
    timeout_seconds: fc.integer({ min: 1, max: 7 * 24 * 3600 }),
  },
  { requiredKeys: ['image'] },
);
const validPayloadArb = fc.record(
  {
    name: fc.string({ minLength: 1, maxLength: 60 }),
    metadata: metadataArb,
    priority: fc.integer({ min: -1000, max: 1000 }),
    timeout_seconds: fc.integer({ min: 1, max: 7 * 24 * 3600 }),
    callback_url: fc.webUrl({ validSchemes: ['http', 'https'] }).filter((u) => u.length <= 2048),
    steps: fc.array(stepArb, { minLength: 1, maxLength: 8 }),
  },
  { requiredKeys: ['name', 'steps'] },
);
/** Anything a client might send: JSON of any shape, and payload-like objects with wrong types. */
const anyBodyArb = fc.oneof(
  fc.jsonValue(),
  fc.record({ name: fc.anything(), steps: fc.oneof(fc.anything(), fc.array(fc.dictionary(fc.constantFrom('id', 'image', 'memory_limit', 'memory_swap', 'network', 'pids_limit', 'timeout_seconds'), fc.anything()))) }, { requiredKeys: [] }),
);

describe('job payload properties', () => {
  it('refuses a metadata key __proto__, which a plain object would drop from the env (found by this property test)', () => {
    const parsed = parseJobPayload({ name: 'j', steps: [{ image: 'a', metadata: JSON.parse('{"__proto__": "x"}') as Record<string, string> }] });
    assert.ok(!parsed.ok);
    assert.ok(parsed.fields.some((f) => f.message.includes('__proto__')), JSON.stringify(parsed.fields));
  });

  it('never throws, whatever the body: either a payload or a list of named problems', () => {
    fc.assert(
      fc.property(anyBodyArb, (body) => {
        const parsed = parseJobPayload(body, { allowedNetworks: ['none', 'bridge', 'default'] });
        if (parsed.ok) return;
        assert.ok(parsed.fields.length > 0);
        for (const f of parsed.fields) assert.ok(typeof f.path === 'string' && typeof f.message === 'string' && f.message.length > 0, JSON.stringify(f));
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts every valid payload, and parsing is idempotent through JSON (what the queue carries)', () => {
    fc.assert(
      fc.property(validPayloadArb, (body) => {
        const first = parseJobPayload(body);
        assert.ok(first.ok, JSON.stringify(first.ok ? '' : first.fields));
        const again = parseJobPayload(JSON.parse(JSON.stringify(first.payload)));
        assert.ok(again.ok);
        assert.deepEqual(again.payload, first.payload);
      }),
      { numRuns: 500 },
    );
  });

  it('normalises into a spec that keeps every step in order, with unique ids, and the env Hades gives', () => {
    fc.assert(
      fc.property(validPayloadArb, fc.uuid(), (body, id) => {
        const parsed = parseJobPayload(body);
        assert.ok(parsed.ok);
        const spec = toJobSpec(parsed.payload, id, new Date('2026-01-01T00:00:00Z'));
        assert.equal(spec.steps.length, body.steps.length);
        assert.deepEqual(spec.steps.map((s) => s.index), body.steps.map((_, i) => i));
        assert.deepEqual(spec.steps.map((s) => s.image), body.steps.map((s) => s.image));
        assert.equal(new Set(spec.steps.map((s) => s.id)).size, spec.steps.length);
        for (const [i, step] of spec.steps.entries()) {
          const env = stepEnv(spec, step);
          assert.equal(env.UUID, id);
          assert.equal(env.JOB_NAME, body.name);
          // Step metadata wins over job metadata; Hades's own two always win.
          for (const [k, v] of Object.entries(body.steps[i]?.metadata ?? {})) if (k !== 'UUID' && k !== 'JOB_NAME') assert.equal(env[k], v);
        }
        const timed = withDefaultStepTimeout(spec, 3600);
        assert.deepEqual(withDefaultStepTimeout(timed, 60), timed, 'a default applies once');
        if (spec.timeoutSeconds === undefined) assert.ok(timed.steps.every((s) => s.timeoutSeconds !== undefined));
      }),
      { numRuns: 500 },
    );
  });
});
