// Addresses of the servers `npm test` started (scripts/run-tests.ts); a test run any other way
// fails here with a message saying how to run it.

function need(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run tests with \`npm test\` (or \`npm run test:only -- <filter>\`), which starts the servers they need`);
  return value;
}

export const testEnv = {
  get temporalAddress() {
    return need('HADES_TEST_TEMPORAL_ADDRESS');
  },
  get temporalUi() {
    return need('HADES_TEST_TEMPORAL_UI');
  },
  get natsUrl() {
    return need('HADES_TEST_NATS_URL');
  },
  get registry() {
    return need('HADES_TEST_REGISTRY');
  },
  get workflowBundle() {
    return need('HADES_TEST_WORKFLOW_BUNDLE');
  },
  /** The test cluster (scripts/kubernetes), started when a test file that needs it is selected. */
  get kubeconfig() {
    return need('HADES_TEST_KUBECONFIG');
  },
  get kubeNamespace() {
    return process.env.HADES_TEST_KUBE_NAMESPACE ?? 'hades-executor';
  },
  get runDir() {
    return need('HADES_TEST_RUN_DIR');
  },
};

export const images = {
  busybox: process.env.HADES_TEST_BUSYBOX_IMAGE ?? 'hades-test/busybox:1',
  debian: process.env.HADES_TEST_DEBIAN_IMAGE ?? 'hades-test/debian:12',
};
