// Path and query validation of a route, as @hono/zod-openapi's zValidator does it (the same schema, the same hook,
// the same 400 answer), with zod's synchronous parse: the API's path and query schemas have no async refinements,
// and safeParseAsync plus the validator's awaits cost ≈1–1.5 µs of a ≈16 µs GET (bench/README.md, issue 18). A
// schema that does turn out to need async parsing falls back to safeParseAsync, so no answer can differ.
import { z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import type { ApiEnv } from "./env.ts";

export type SyncTarget = "param" | "query";

type HookAnswer = Response | { response: Response } | undefined;
/** What zValidator hands the hook: the input, zod's result and the target. */
export type ValidationHook = (
  result: { target: string; data: unknown; success: boolean; error?: z.ZodError },
  c: Context<ApiEnv>,
) => HookAnswer | Promise<HookAnswer>;

type Parsed =
  | { success: true; data: unknown; error?: undefined }
  | { success: false; error: z.ZodError; data?: undefined };

function parse(schema: z.ZodType, value: unknown): Parsed | Promise<Parsed> {
  try {
    return schema.safeParse(value) as Parsed;
  } catch (error) {
    // zod throws this (and only this) when a schema needs async parsing; anything else is a real failure.
    if (error instanceof z.core.$ZodAsyncError) {
      return schema.safeParseAsync(value) as Promise<Parsed>;
    }
    throw error;
  }
}

/** The raw value hono's validator reads for the target (a repeated query key becomes an array). */
function input(c: Context<ApiEnv>, target: SyncTarget): Record<string, string | string[]> {
  if (target === "param") return c.req.param() as Record<string, string>;
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(c.req.queries())) out[k] = v.length === 1 ? (v[0] as string) : v;
  return out;
}

export function syncValidator(target: SyncTarget, schema: z.ZodType, hook: ValidationHook): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const value = input(c, target);
    const maybe = parse(schema, value);
    const result = maybe instanceof Promise ? await maybe : maybe;
    const answer = hook({ data: value, ...result, target }, c);
    const settled = answer instanceof Promise ? await answer : answer;
    if (settled instanceof Response) return settled;
    if (settled && "response" in settled) return settled.response;
    if (!result.success) return c.json(result, 400);
    c.req.addValidatedData(target, result.data as object);
    await next();
  };
}
