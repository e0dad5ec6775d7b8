// RFC 9457 problem details: every error the API returns has this shape, with field paths for validation failures.
export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail?: string;
  readonly errors?: readonly FieldProblem[];
}

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

export function problemResponse(p: Problem, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(p), {
    status: p.status,
    headers: { ...headers, "content-type": PROBLEM_CONTENT_TYPE },
  });
}

export const problem = (status: number, title: string, detail?: string, errors?: readonly FieldProblem[]): Problem => ({
  type: `https://scone.invalid/problems/${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`,
  title,
  status,
  ...(detail === undefined ? {} : { detail }),
  ...(errors === undefined ? {} : { errors }),
});

/**
 * Thrown by handlers and helpers to answer with a problem; app.onError turns it into the response. The message
 * is the problem's detail, written for the client: it must never carry a secret or a stack.
 */
export class ApiProblem extends Error {
  override readonly name = "ApiProblem";
  readonly problem: Problem;
  constructor(
    status: number,
    title: string,
    detail: string,
    readonly headers: Record<string, string> = {},
    errors?: readonly FieldProblem[],
  ) {
    super(detail);
    this.problem = problem(status, title, detail, errors);
  }
}

/** A 400 problem naming one field, e.g. an undecodable cursor. */
export function fieldProblem(field: string, message: string): ApiProblem {
  return new ApiProblem(400, "Invalid request", "the request does not match the schema", {}, [{ field, message }]);
}
