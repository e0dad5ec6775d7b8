// Maps what handlers throw onto problem responses. Store errors carry messages written for users (they name the
// field and the fix), so they pass through; anything else is an internal error whose message stays in the log.
import { HTTPException } from "hono/http-exception";
import { ReviewUnavailable } from "../kube/access-review.ts";
import { StoreConflictError, StoreInputError, StoreNotFoundError } from "../store/errors.ts";
import { ApiProblem, type Problem, problem } from "./problem.ts";

export interface MappedError {
  readonly problem: Problem;
  readonly headers: Record<string, string>;
  /** False for unexpected errors: the client gets a generic problem and the log gets the message. */
  readonly expected: boolean;
}

export function toProblem(err: unknown): MappedError {
  if (err instanceof ApiProblem) return { problem: err.problem, headers: err.headers, expected: true };
  // Hono's own refusals, e.g. "Malformed JSON in request body" from the JSON validator.
  if (err instanceof HTTPException && err.status < 500) {
    const errors = err.status === 400 ? [{ field: "body", message: err.message }] : undefined;
    return {
      problem: problem(err.status, err.status === 400 ? "Invalid request" : "Request refused", err.message, errors),
      headers: {},
      expected: true,
    };
  }
  if (err instanceof StoreInputError) {
    const p = problem(400, "Invalid request", err.message, [{ field: err.field, message: err.message }]);
    return { problem: p, headers: {}, expected: true };
  }
  if (err instanceof StoreNotFoundError)
    return { problem: problem(404, "Not found", err.message), headers: {}, expected: true };
  if (err instanceof StoreConflictError)
    return { problem: problem(409, "Conflict", err.message), headers: {}, expected: true };
  // Neither allowed nor refused: the API server did not answer. The reason goes to the log only.
  if (err instanceof ReviewUnavailable) {
    const p = problem(503, "Service unavailable", "the Kubernetes API server could not review the request; retry");
    return { problem: p, headers: { "Retry-After": "2" }, expected: false };
  }
  return {
    problem: problem(500, "Internal error", "the request failed; see the server log"),
    headers: {},
    expected: false,
  };
}

/** Runs `fn`; a StoreInputError's field is reported under `prefix` ("body", "query") like schema failures are. */
export function withFieldPrefix<T>(prefix: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof StoreInputError) {
      throw new ApiProblem(400, "Invalid request", err.message, {}, [
        { field: `${prefix}.${err.field}`, message: err.message },
      ]);
    }
    throw err;
  }
}
