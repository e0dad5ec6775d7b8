// Errors the repository modules raise for callers (CLI, API) to map onto messages and HTTP statuses.

import { FieldInputError } from "../runtime/field-error.ts";

/** Bad input: names the field and says what is expected. */
export class StoreInputError extends FieldInputError {
  override readonly name = "StoreInputError";
}

/** The row does not exist. */
export class StoreNotFoundError extends Error {
  override readonly name = "StoreNotFoundError";
}

/** Someone else changed the row since it was read (optimistic concurrency) or the transition is not allowed. */
export class StoreConflictError extends Error {
  override readonly name = "StoreConflictError";
}
