import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { helloWorldJob, sharedVolumeJob } from '../fixtures/examples';
import { launchChromium } from '../helpers/browser';
import { assertNoLeaks } from '../helpers/docker';
import { waitForEnd } from '../helpers/http';
import { submitJob } from '../helpers/jobs';
import type { TestStack } from '../helpers/stack';
import { startTestStack } from '../helpers/stack';
import { testEnv } from '../helpers/testEnv';

// What a user sees: the Temporal Web UI of the test server, driven by a real headless Chromium.
describe('the Temporal Web UI', () => {
  let stack: TestStack;
  let browser: Browser;
  before(async () => {
    [stack, browser] = await Promise.all([startTestStack(), launchChromium()]);
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('finds a finished job by its id and shows its steps with their summaries', async () => {
    await submitJob(stack.apiUrl, helloWorldJob());
    const id = await submitJob(stack.apiUrl, sharedVolumeJob());
    const job = await waitForEnd(stack.apiUrl, id);
    assert.equal(job.status, 'Succeeded');
    await assertNoLeaks([id]);

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    // The UI is a large single-page app: on two busy cores its first render alone can take tens
    // of seconds. Each wait below is for a condition; this only bounds a UI that never shows it.
    page.setDefaultTimeout(180_000);
    page.setDefaultNavigationTimeout(180_000);
    const query = encodeURIComponent(`WorkflowId="${id}"`);
    await page.goto(`${testEnv.temporalUi}/namespaces/default/workflows?query=${query}`);
    const link = page.getByRole('link', { name: id });
    await link.first().waitFor();
    await link.first().click();
    await page.waitForURL(new RegExp(`/workflows/${id}/`));
    await page.getByText('Completed').first().waitFor();
    for (const step of job.steps) {
      await page.getByText(`step ${step.id} "${step.name}" (${step.image})`).first().waitFor();
    }
    await page.screenshot({ path: join(testEnv.runDir, 'web-ui-job.png'), fullPage: true });
    await page.close();
  });
});
