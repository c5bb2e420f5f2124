/**
 * Errors as OpenAI sends them: `{error: {message, type, param, code}}` with the matching HTTP
 * status, so that every OpenAI client raises its usual exception (BadRequestError,
 * AuthenticationError, RateLimitError...).
 */
import {
  AbortedError,
  BackendError,
  BudgetExhaustedError,
  InvalidInputError,
  ReckonError,
} from "../core/errors.js";

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** An error to answer with, raised anywhere in the request's handling. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  /** What the server's log gets beyond the message (an upstream's own words); never sent. */
  detail?: string;

  body(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const invalidRequest = (message: string, param: string | null = null, code: string | null = null) =>
  new HttpError(400, message, "invalid_request_error", param, code);

/** The client went away; nothing is sent, but logs and metrics count it (nginx's 499). */
export const clientClosedStatus = 499;

/**
 * Maps anything thrown while answering to what the client is told. `paramOf` turns the field
 * an InvalidInputError names into the request's own field path (e.g. "strategy options.n" →
 * "reckon.n").
 */
export function toHttpError(error: unknown, paramOf: (field: string) => string = (f) => f): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof AbortedError)
    return new HttpError(clientClosedStatus, "the request was cancelled", "request_cancelled");
  if (error instanceof InvalidInputError) {
    const param = paramOf(error.field);
    return invalidRequest(error.message.replace(`invalid ${error.field}:`, `invalid ${param}:`), param);
  }
  if (error instanceof BackendError) return upstreamError(error);
  // A strategy that does not answer with what it has when a limit stops it: the request's fault.
  if (error instanceof BudgetExhaustedError)
    return new HttpError(
      400,
      `the strategy stopped at a limit before it had an answer (${error.message})`,
      "invalid_request_error",
      "reckon.budget",
      "budget_exhausted",
    );
  if (error instanceof ReckonError) return new HttpError(500, error.message, "server_error");
  return new HttpError(500, "internal error; see the server log", "server_error");
}

/**
 * What an upstream failure means to our client: its fault, the upstream's, or a wait. The
 * upstream's own words (its error body, its URL) are never passed on: they may hold what a
 * client must not see (a verifier's reply, an address, a credential). They stay in `detail`,
 * for the server's log.
 */
function upstreamError(error: BackendError): HttpError {
  const { status } = error;
  const detail = `upstream: ${error.message.split("\n")[0]}`;
  let failure: HttpError;
  if (status === 404 && /model/i.test(error.message))
    failure = new HttpError(
      404,
      "the upstream does not serve this model",
      "invalid_request_error",
      "model",
      "model_not_found",
    );
  else if (status === 400 || status === 422)
    failure = invalidRequest(`the upstream refused the request (HTTP ${status})`);
  else if (status === 429) {
    const seconds = Math.max(1, Math.ceil((error.retryAfterMs ?? 1_000) / 1_000));
    failure = new HttpError(
      429,
      "the upstream is rate-limiting requests",
      "requests",
      null,
      "rate_limit_exceeded",
      {
        "retry-after": String(seconds),
      },
    );
  } else if (error.code === "timeout")
    failure = new HttpError(
      504,
      "the upstream did not answer in time",
      "upstream_error",
      null,
      "upstream_timeout",
    );
  else
    failure = new HttpError(
      502,
      status === undefined || status >= 500
        ? `the upstream failed${status !== undefined && status !== 503 ? ` (HTTP ${status})` : ""}`
        : "the upstream sent an answer that could not be read",
      "upstream_error",
      null,
      "upstream_unavailable",
    );
  failure.detail = detail;
  return failure;
}
