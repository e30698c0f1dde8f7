import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { FieldError } from '../job';

/** The one error shape of the API: `{"error":{"code","message","fields"?}}`. */
export interface ErrorBody {
  error: { code: string; message: string; fields?: FieldError[] };
}

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields?: FieldError[],
  ) {
    super(message);
  }

  body(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.fields && { fields: this.fields }) } };
  }
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new ApiError(404, 'not_found', `no route ${req.method} ${req.path}`));
};

/** Maps every error to the one shape; body-parser's own errors keep their status (400, 413, 415). */
export function errorHandler(log: (err: unknown) => void): ErrorRequestHandler {
  return (err: unknown, _req, res, _next) => {
    let apiError: ApiError;
    if (err instanceof ApiError) {
      apiError = err;
    } else if (isBodyParserError(err)) {
      apiError =
        err.type === 'entity.too.large'
          ? new ApiError(413, 'payload_too_large', `request body is larger than the limit of ${err.limit ?? '?'} bytes`)
          : err.type === 'entity.parse.failed'
            ? new ApiError(400, 'invalid_json', `request body is not valid JSON: ${err.message}`)
            : new ApiError(err.status, 'bad_request', err.message);
    } else if (err instanceof Error && err.name === 'InvalidCursor') {
      apiError = new ApiError(400, 'invalid_cursor', err.message);
    } else if (err instanceof Error && err.name === 'PayloadDecryptionError') {
      // A job encrypted with a key this API was not given: the operator's to fix, so say which.
      log(err);
      apiError = new ApiError(500, 'undecodable', `${err.message}; add that key to HADES_ENCRYPTION_KEYS`);
    } else if (backendDown(err)) {
      apiError = backendDown(err)!;
    } else {
      log(err);
      apiError = new ApiError(500, 'internal', 'internal error; the server logged the details');
    }
    res.status(apiError.status).json(apiError.body());
  };
}

/** NATS or Temporal not answering: the client may retry, so 503 rather than 500. */
function backendDown(err: unknown): ApiError | undefined {
  if (!(err instanceof Error)) return undefined;
  if (err.name === 'NatsError') return new ApiError(503, 'queue_unavailable', `the job queue (NATS) did not answer (${(err as { code?: string }).code ?? err.message}); try again`);
  const grpc = (err as { code?: unknown; cause?: { code?: unknown } }).cause?.code ?? (err as { code?: unknown }).code;
  if (err.name === 'ServiceError' || grpc === 14 || grpc === 4) return new ApiError(503, 'temporal_unavailable', `Temporal did not answer (${err.message}); try again`);
  return undefined;
}

interface BodyParserError {
  type: string;
  status: number;
  message: string;
  limit?: number;
}

function isBodyParserError(err: unknown): err is BodyParserError {
  return typeof err === 'object' && err !== null && 'type' in err && 'status' in err && typeof (err as { status: unknown }).status === 'number';
}
