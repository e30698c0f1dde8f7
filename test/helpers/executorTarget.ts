/** What the shared executor suite needs from each executor: its settings and a look at what it ran. */
export interface ExecutorTarget {
  name: 'docker' | 'kubernetes';
  /** Settings that make a test stack run its steps on this executor. */
  overrides(): Record<string, string>;
  /** Fails when anything of these jobs (containers, volumes; pods, claims, policies) is left. */
  assertNoLeaks(jobIds: string[]): Promise<void>;
  /** The step's container once it runs: an id that a re-attach keeps, and when it started. */
  runningStep(jobId: string, stepIndex: number, timeoutMs?: number): Promise<{ id: string; startedAt: string }>;
  /** An HTTP server the test itself starts where steps could reach it, but for their network setting. */
  startProbeServer(): Promise<{ url: string; stop(): Promise<void> }>;
}
