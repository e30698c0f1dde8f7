import type Docker from 'dockerode';
import { coerceError, statusCodeOf } from '../../errors';
import { ImagePullError } from '../errors';

export type PullPolicy = 'if-not-present' | 'always';

/** Docker's answer to a create whose image is not here (a missing network is a 404 too). */
export function isNoSuchImage(err: unknown): boolean {
  return statusCodeOf(err) === 404 && err instanceof Error && /no such image/i.test(err.message);
}

/** Pulls `image` within its own timeout; what the registry says about it is an ImagePullError. */
export async function pullImage(docker: Docker, image: string, timeoutSeconds: number): Promise<void> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutSeconds * 1000);
  try {
    const stream = (await docker.pull(image, { abortSignal: abort.signal })) as NodeJS.ReadableStream;
    // followProgress does not turn `{error}` lines into an error: look at every event.
    await new Promise<void>((resolve, reject) => {
      let failed: string | undefined;
      docker.modem.followProgress(
        stream,
        (err: Error | null) => (err ? reject(err) : failed ? reject(new Error(failed)) : resolve()),
        (event: { error?: string; errorDetail?: { message?: string } }) => {
          if (event.error) failed = event.errorDetail?.message ?? event.error;
        },
      );
    });
  } catch (err) {
    if (abort.signal.aborted) throw new ImagePullError(image, `pull timed out after ${timeoutSeconds} s`);
    const e = coerceError(err);
    // The daemon itself unreachable is infrastructure (retried); anything it says about the image is final.
    if (isConnectionError(e)) throw e;
    throw new ImagePullError(image, conciseDockerMessage(e), { cause: e });
  } finally {
    clearTimeout(timer);
  }
}

export function isConnectionError(err: Error): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 'ECONNREFUSED' || code === 'ENOENT' || code === 'ECONNRESET' || code === 'EPIPE';
}

/** dockerode's messages are `(HTTP code 404) unexpected - {"message":"..."}`: keep the daemon's words. */
export function conciseDockerMessage(err: Error): string {
  const json = /\{.*"message"\s*:\s*"((?:[^"\\]|\\.)*)".*\}/s.exec(err.message);
  if (json?.[1]) return json[1].replace(/\\"/g, '"');
  return err.message;
}
