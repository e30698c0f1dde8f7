import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertNoLeaks, docker } from '../helpers/docker';
import { request, waitForEnd } from '../helpers/http';
import type { TestStack } from '../helpers/stack';
import { startTestStack, uniqueSuffix } from '../helpers/stack';
import { images, testEnv } from '../helpers/testEnv';

async function followProgress(stream: NodeJS.ReadableStream): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, events: { error?: string }[]) => {
      const failed = events?.find((e) => e.error);
      if (err || failed) reject(err ?? new Error(failed?.error));
      else resolve();
    });
  });
}

// The executor's pull path, for real: an image that exists only in the local registry.
describe('an image that is not present locally', () => {
  let stack: TestStack;
  const repo = `${testEnv.registry}/hades-test/pulled-${uniqueSuffix()}`;
  const image = `${repo}:1`;
  before(async () => {
    stack = await startTestStack();
    await docker.getImage(images.busybox).tag({ repo, tag: '1' });
    await followProgress((await docker.getImage(image).push({ authconfig: { username: '', password: '', serveraddress: testEnv.registry } })) as NodeJS.ReadableStream);
    await docker.getImage(image).remove();
  });
  after(async () => {
    await docker.getImage(image).remove().catch(() => undefined);
    await stack?.stop();
  });

  it('is pulled from the registry, then the step runs', async () => {
    await assert.rejects(docker.getImage(image).inspect(), 'the image must be absent before the job');
    const res = await request<{ job_id: string }>(`${stack.apiUrl}/build`, {
      method: 'POST',
      json: { name: 'pull', steps: [{ id: 1, name: 'pulled', image, script: 'echo pulled ok' }] },
    });
    const job = await waitForEnd(stack.apiUrl, res.body.job_id);
    assert.equal(job.status, 'Succeeded', JSON.stringify(job));
    assert.equal(job.steps[0]?.outputTail?.trim(), 'pulled ok');
    const pulled = await docker.getImage(image).inspect();
    assert.ok(pulled.Id);
    await assertNoLeaks([res.body.job_id]);
  });
});
