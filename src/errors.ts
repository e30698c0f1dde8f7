// Small typed errors, each with a name, fields and a cause; `coerceError` for every catch.

export function coerceError(err: unknown): Error {
  if (err instanceof Error) return err;
  if (typeof err === 'string') return new Error(err);
  try {
    return new Error(JSON.stringify(err));
  } catch {
    return new Error(String(err));
  }
}

/** HTTP-ish status code carried by errors of dockerode, Temporal's gRPC mapping and our own. */
export function statusCodeOf(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'statusCode' in err && typeof err.statusCode === 'number') {
    return err.statusCode;
  }
  return undefined;
}

/** The gRPC status code of a Temporal client error (on the error or its cause). */
export function grpcCodeOf(err: unknown): number | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
  const code = e?.cause?.code ?? e?.code;
  return typeof code === 'number' ? code : undefined;
}

/** A workflow start Temporal refuses for good (INVALID_ARGUMENT): retrying cannot help. */
export class StartRefusedError extends Error {
  override name = 'StartRefused';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
