// Labels every executor puts on what it creates for a job, so cleanup and the leak checks find
// them by job (Docker labels and Kubernetes label keys alike: no prefix, dots allowed).

export const labels = {
  managed: 'io.hades.managed',
  job: 'io.hades.job',
  step: 'io.hades.step',
  /** Which Hades made it (namespace/task queue): the reaper touches only its own. */
  owner: 'io.hades.owner',
} as const;
