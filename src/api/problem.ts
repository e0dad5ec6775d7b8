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

export function problemResponse(p: Problem): Response {
  return new Response(JSON.stringify(p), { status: p.status, headers: { "content-type": PROBLEM_CONTENT_TYPE } });
}

export const problem = (status: number, title: string, detail?: string, errors?: readonly FieldProblem[]): Problem => ({
  type: `https://scone.invalid/problems/${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`,
  title,
  status,
  ...(detail === undefined ? {} : { detail }),
  ...(errors === undefined ? {} : { errors }),
});
