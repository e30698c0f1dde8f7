import { assertNoLeaks, docker } from './docker';
import type { ExecutorTarget } from './executorTarget';
import { inspectRunningStep } from './jobs';
import { uniqueSuffix } from './stack';
import { images } from './testEnv';

export const dockerTarget: ExecutorTarget = {
  name: 'docker',
  overrides: () => ({ HADES_EXECUTOR: 'docker' }),
  assertNoLeaks,
  async runningStep(jobId, stepIndex, timeoutMs) {
    const info = await inspectRunningStep(jobId, stepIndex, timeoutMs);
    return { id: info.Id, startedAt: new Date(Date.parse(info.State.StartedAt)).toISOString() };
  },
  async startProbeServer() {
    const container = await docker.createContainer({
      name: `hades-test-probe-${uniqueSuffix()}`,
      Image: images.busybox,
      Cmd: ['sh', '-c', 'mkdir -p /www && echo probe-ok > /www/index.html && exec httpd -f -p 8080 -h /www'],
      HostConfig: { AutoRemove: false },
    });
    await container.start();
    const info = await container.inspect();
    const ip = info.NetworkSettings.Networks.bridge?.IPAddress;
    if (!ip) throw new Error('the probe container has no address on the default bridge');
    return {
      url: `http://${ip}:8080/`,
      stop: () => container.remove({ force: true }),
    };
  },
};
