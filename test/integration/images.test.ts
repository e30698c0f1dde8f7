import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../scripts/services';
import { assertNoLeaks, docker } from '../helpers/docker';
import { waitForEnd } from '../helpers/http';
import { submitJob } from '../helpers/jobs';
import type { TestStack } from '../helpers/stack';
import { startTestStack, uniqueSuffix } from '../helpers/stack';
import { images, testEnv } from '../helpers/testEnv';

/** An image made from busybox with `/version` holding `text`. */
async function imageWithVersion(text: string): Promise<string> {
  const c = await docker.createContainer({ Image: images.busybox, Cmd: ['sh', '-c', `echo ${text} > /version`] });
  await c.start();
  await c.wait();
  const { Id } = (await c.commit()) as { Id: string };
  await c.remove();
  return Id;
}

async function push(image: string): Promise<void> {
  const stream = (await docker.getImage(image).push({ authconfig: { username: '', password: '', serveraddress: testEnv.registry } })) as NodeJS.ReadableStream;
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(stream, (err: Error | null, events: { error?: string }[]) => (err || events.some((e) => e.error) ? reject(err ?? new Error('push failed')) : resolve())),
  );
}

describe('image pull policy', () => {
  const repo = `${testEnv.registry}/hades-test/policy-${uniqueSuffix()}`;
  const image = `${repo}:1`;
  const made: string[] = [];
  const jobIds: string[] = [];
  before(async () => {
    // The registry holds "two"; this machine holds an older "one" under the same tag.
    const one = await imageWithVersion('one');
    const two = await imageWithVersion('two');
    made.push(one, two);
    await docker.getImage(two).tag({ repo, tag: '1' });
    await push(image);
    await docker.getImage(one).tag({ repo, tag: '1' });
  });
  after(async () => {
    await docker.getImage(image).remove({ force: true }).catch(() => undefined);
    for (const id of made) await docker.getImage(id).remove({ force: true }).catch(() => undefined);
    await assertNoLeaks(jobIds);
  });

  async function versionSeen(overrides: Record<string, string>): Promise<string | undefined> {
    const stack = await startTestStack(overrides);
    try {
      const id = await submitJob(stack.apiUrl, { name: 'policy', steps: [{ id: 1, name: 'version', image, script: 'cat /version' }] }, jobIds);
      const job = await waitForEnd(stack.apiUrl, id);
      assert.equal(job.status, 'Succeeded', JSON.stringify(job));
      return job.steps[0]?.outputTail?.trim();
    } finally {
      await stack.stop();
    }
  }

  it('if-not-present (default) uses the local image without pulling', async () => {
    assert.equal(await versionSeen({}), 'one');
  });

  it('always pulls before the step', async () => {
    assert.equal(await versionSeen({ DOCKER_PULL_POLICY: 'always' }), 'two');
  });
});

describe('a pull that hangs', () => {
  let stack: TestStack;
  let registry: Server;
  const sockets: Socket[] = [];
  let port: number;
  before(async () => {
    // A "registry" that accepts connections and never answers.
    port = await freePort();
    registry = createServer((s) => void sockets.push(s));
    await new Promise<void>((resolve) => registry.listen(port, '127.0.0.1', resolve));
    stack = await startTestStack({ DOCKER_PULL_TIMEOUT_SECONDS: '2' });
  });
  after(async () => {
    await stack?.stop();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => registry.close(() => resolve()));
  });

  it('fails the job after the pull timeout, naming the image, without retries', async () => {
    const image = `127.0.0.1:${port}/hades-test/hangs:1`;
    const started = Date.now();
    const id = await submitJob(stack.apiUrl, { name: 'stuck pull', steps: [{ id: 1, name: 'never', image, script: 'true' }] });
    const job = await waitForEnd(stack.apiUrl, id, 30_000);
    assert.equal(job.status, 'Failed');
    assert.equal(job.reason, `step "never" could not run: image "${image}" could not be pulled: pull timed out after 2 s`);
    assert.ok(Date.now() - started < 15_000);
    await assertNoLeaks([id]);
  });
});
