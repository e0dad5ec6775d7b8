// The error of a CAS answer scone could not use (src/cas/answers.ts, the documented public values). The typed errors
// of the former REST client (unavailable, auth, not found, conflict, request) are test support now
// (test/support/cas-legacy/errors.ts).

export class CasError extends Error {
  override readonly name: string = "CasError";
  constructor(
    message: string,
    /** HTTP status, or 0 when no response arrived. */
    readonly status: number,
    readonly messages: readonly string[] = [],
  ) {
    super(message);
  }
}
