// Opaque page cursors: the position of the last item of a page, as base64url JSON. Clients pass them back
// unchanged; a cursor that does not decode to the shape the route expects is a 400 naming `query.cursor`.
import type { z } from "@hono/zod-openapi";
import { fieldProblem } from "./problem.ts";

export function encodeCursor(position: unknown): string {
  return Buffer.from(JSON.stringify(position), "utf8").toString("base64url");
}

export function decodeCursor<T>(cursor: string | undefined, shape: z.ZodType<T>): T | undefined {
  if (cursor === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    parsed = undefined;
  }
  const result = shape.safeParse(parsed);
  if (!result.success) {
    throw fieldProblem(
      "query.cursor",
      "not a cursor of this listing; pass nextCursor from the previous page unchanged",
    );
  }
  return result.data;
}

/** The first `limit` items and, when more remain, the cursor for the next page (from the last item returned). */
export function page<T>(
  rows: readonly T[],
  limit: number,
  positionOf: (last: T) => unknown,
): { items: T[]; nextCursor?: string } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  if (rows.length <= limit || last === undefined) return { items };
  return { items, nextCursor: encodeCursor(positionOf(last)) };
}
