// Labels every executor puts on what it creates for a job, so cleanup and the leak checks find
// them by job (Docker labels and Kubernetes label keys alike: no prefix, dots allowed).

export const labels = {
  managed: 'io.hades.managed',
  job: 'io.hades.job',
  step: 'io.hades.step',
} as const;
