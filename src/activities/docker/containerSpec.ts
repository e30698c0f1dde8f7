import type Docker from 'dockerode';
import { cappedLimits, cpusToNano, envList } from '../../job';
import type { StepCaps } from '../../job';
import type { StepRun } from '../executor';
import { containerName, labels, volumeName } from './names';

export interface ContainerDefaults extends StepCaps {
  /** The command a script is handed to, like Hades's DOCKER_SCRIPT_EXECUTOR (`/bin/sh -c`). */
  scriptExecutor: string[];
  /** The `io.hades.owner` label: which Hades made the container and volume. */
  owner?: string;
}

export const sharedDir = '/shared';

function ownLabels(jobId: string, owner: string | undefined): Record<string, string> {
  return { [labels.managed]: 'true', [labels.job]: jobId, ...(owner !== undefined && { [labels.owner]: owner }) };
}

/** Docker's create options for a step: pure, so what a step gets is testable without Docker. */
export function containerSpec(run: StepRun, defaults: ContainerDefaults): Docker.ContainerCreateOptions {
  const { step } = run;
  const { cpus, memoryBytes: memory, pids } = cappedLimits(step, defaults);
  const hostConfig: Docker.HostConfig = {
    // Docker creates the named volume with the first step that mounts it (labels and all),
    // which saves a call per step.
    Mounts: [
      {
        Type: 'volume',
        Source: volumeName(run.jobId),
        Target: sharedDir,
        VolumeOptions: { NoCopy: false, Labels: ownLabels(run.jobId, defaults.owner), DriverConfig: { Name: 'local', Options: {} } },
      },
    ],
    // A step must not gain privileges through setuid binaries; no Docker socket is mounted.
    SecurityOpt: ['no-new-privileges'],
    ...(cpus !== undefined && { NanoCpus: cpusToNano(cpus) }),
    ...(memory !== undefined && { Memory: memory }),
    ...(step.memorySwapBytes !== undefined && { MemorySwap: step.memorySwapBytes }),
    ...(pids !== undefined && { PidsLimit: pids }),
    ...(step.network !== undefined && step.network !== 'default' && { NetworkMode: step.network }),
  };
  return {
    name: containerName(run.jobId, step.index),
    Image: step.image,
    Env: envList(run.env),
    WorkingDir: sharedDir,
    Labels: { ...ownLabels(run.jobId, defaults.owner), [labels.step]: String(step.index) },
    Tty: false,
    AttachStdin: false,
    OpenStdin: false,
    ...(step.script !== undefined && { Entrypoint: [...defaults.scriptExecutor, step.script], Cmd: [] }),
    ...(step.network === 'none' && { NetworkDisabled: true }),
    HostConfig: hostConfig,
  };
}
