import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import { connect } from 'nats';
import { startBridge } from '../../src/bridge/bridge';
import { testEnv } from '../helpers/testEnv';

it('a bridge that cannot consume again, time after time, logs why and gives up (so its process exits for a restart)', { timeout: 60_000 }, async () => {
  const suffix = randomUUID().slice(0, 8);
  const names = { stream: `GIVEUP_${suffix}`, subjectPrefix: `giveup.${suffix}`, consumer: `giveup-${suffix}`, submissionsBucket: `GIVEUP_SUB_${suffix}` };
  const nc = await connect({ servers: testEnv.natsUrl });
  const errors: string[] = [];
  let gaveUp: (reason: string) => void = () => undefined;
  const givenUp = new Promise<string>((resolve) => (gaveUp = resolve));
  const bridge = await startBridge({
    nc,
    names,
    startJob: () => Promise.resolve('started' as const),
    log: { info: () => undefined, warn: () => undefined, error: (msg) => errors.push(msg) },
    giveUpAfter: 2,
    onGiveUp: gaveUp,
  });
  try {
    // Its stream deleted (the consumer with it) and its connection gone: nothing can be made again.
    await (await nc.jetstreamManager()).streams.delete(names.stream);
    await nc.close();
    const reason = await givenUp;
    assert.match(reason, /could not consume jobs 2 times in a row/);
    assert.deepEqual(errors, ['the job consumer ended; consuming again', 'consuming again failed; will retry', 'the job consumer ended; consuming again', 'the job consumer could not be made again; giving up']);
  } finally {
    await bridge.stop();
    if (!nc.isClosed()) await nc.close();
    const cleanup = await connect({ servers: testEnv.natsUrl });
    const jsm = await cleanup.jetstreamManager();
    for (const stream of [names.stream, `${names.stream}_DEAD`]) await jsm.streams.delete(stream).catch(() => undefined);
    await cleanup.close();
  }
});
