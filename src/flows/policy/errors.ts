/** A policy document or the SCONE CLI's output for one is not in the documented format; nothing was written. */
export class PolicyDocumentError extends Error {
  override readonly name = "PolicyDocumentError";
}
