// Refuses request bodies above a size with a 413 problem, before any handler reads them.
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { ApiEnv } from "../env.ts";
import { problem, problemResponse } from "../problem.ts";

export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;

export function limitBody(maxBytes: number = DEFAULT_BODY_LIMIT_BYTES): MiddlewareHandler<ApiEnv> {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () =>
      problemResponse(problem(413, "Payload too large", `the request body exceeds the limit of ${maxBytes} bytes`)),
  });
}
