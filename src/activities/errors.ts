// Failures the executor classifies where they happen. A user's failure (an image that cannot be
// pulled, a step Docker refuses) is final; anything else is infrastructure and is retried.

export class ImagePullError extends Error {
  override name = 'ImagePullFailed';
  constructor(
    readonly image: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`image "${image}" could not be pulled: ${detail}`, options);
  }
}

export class InvalidStepError extends Error {
  override name = 'InvalidStep';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export class StepAbortedError extends Error {
  override name = 'StepAborted';
  constructor(readonly containerId: string | undefined) {
    super('step was stopped before it finished');
  }
}

/** The executor let go of a running step (see StepHooks.detach); its container runs on. */
export class StepDetachedError extends Error {
  override name = 'StepDetached';
  constructor(readonly containerId: string) {
    super('stopped following the step; its container runs on');
  }
}

export const userErrorTypes = ['ImagePullFailed', 'InvalidStep'] as const;
