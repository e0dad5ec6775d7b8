// The session files the stand-in CLI handles locally (SCONE-CLI.md §6): a session YAML, a signed session JSON
// `{session, signatures: [{signer, signature}]}`, an encrypted session JSON `{encrypted_session, encryption_key}`.
// Parsing and the hash are those of the simulated CAS (sim/cas/session-doc.ts): in SCONE, too, the CLI and CAS come
// from one vendor and agree on them. Signing: Ed25519 over the exact session text, signer = the PEM public key
// `self show-session-signing-key` prints. Encryption: sim/cas's sealed box to the CAS's session encryption key.
// Signing and encryption live in session-crypto.ts, so that reading a session loads no crypto.
import { hashOfSession, readSession, SessionFormatError, signedEnvelope } from "../cas/session-doc.ts";
import { CliFailure } from "./failure.ts";

export type SessionFile =
  | { readonly kind: "plain"; readonly session: string }
  | { readonly kind: "signed"; readonly session: string; readonly signatures: { signer: string; signature: string }[] }
  | { readonly kind: "encrypted"; readonly raw: string };

/** What a session file holds; the session inside checked as CAS would read it. */
export function readSessionFile(text: string): SessionFile {
  let file: SessionFile = { kind: "plain", session: text };
  if (text.trimStart().startsWith("{")) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new CliFailure(`error: session file is not valid JSON: ${(err as Error).message}`);
    }
    if (typeof json === "object" && json !== null && "encrypted_session" in json) {
      const e = json as { encrypted_session?: unknown; encryption_key?: unknown };
      if (typeof e.encrypted_session !== "string" || typeof e.encryption_key !== "string") {
        throw new CliFailure("error: encrypted session: encrypted_session and encryption_key must be strings");
      }
      return { kind: "encrypted", raw: text };
    }
    const signed = signedEnvelope(json);
    if (!signed) throw new CliFailure("error: a JSON session file must be a signed or an encrypted session");
    file = { kind: "signed", session: signed.session, signatures: [...signed.signatures] };
  }
  try {
    readSession(file.session);
  } catch (err) {
    if (err instanceof SessionFormatError) throw new CliFailure(`error: invalid session: ${err.message}`);
    throw err;
  }
  return file;
}

export function plainSession(file: SessionFile, what: string): string {
  if (file.kind === "encrypted") throw new CliFailure(`error: ${what}: an encrypted session can only be uploaded`);
  return file.session;
}

export function sessionHash(file: SessionFile): string {
  return hashOfSession(plainSession(file, "calculate-hash"));
}
