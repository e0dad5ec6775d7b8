// Which key image signatures are checked with, from the two flags upstream's installer has: the Scontain key by
// default, --verify-image-signatures FILE for a mirror's own key, --no-image-signature-check to skip the check
// (explicit, and said so). Both at once is a contradiction and refused.

import { readFileSync, statSync } from "node:fs";
import { KeyError, MAX_KEY_PEM_BYTES, parsePublicKey, type SignatureKey } from "./public-key.ts";
import { SCONTAIN_KEY_NAME, SCONTAIN_PUBLIC_KEY } from "./scontain-key.ts";

export type SignaturePolicy = { readonly check: false } | { readonly check: true; readonly key: SignatureKey };

/** A flag combination or key file that cannot be used; the message names the flag and the fix. */
export class SignaturePolicyError extends Error {
  override name = "SignaturePolicyError";
}

export interface SignatureFlags {
  /** --verify-image-signatures: path of a PEM public key. */
  readonly verifyKey?: string | undefined;
  /** false when --no-image-signature-check was given. */
  readonly check: boolean;
}

/** The flags' values from parsed CLI flags (image-signature-check defaults to true). */
export function signatureFlags(a: Readonly<Record<string, unknown>>): SignatureFlags {
  const key = a["verify-image-signatures"];
  return {
    ...(typeof key === "string" ? { verifyKey: key } : {}),
    check: a["image-signature-check"] !== false,
  };
}

export function signaturePolicy(flags: SignatureFlags, read: (path: string) => string = readKeyFile): SignaturePolicy {
  if (flags.verifyKey !== undefined && !flags.check)
    throw new SignaturePolicyError(
      "--verify-image-signatures and --no-image-signature-check contradict each other: leave one of them out",
    );
  if (!flags.check) return { check: false };
  if (flags.verifyKey === undefined)
    return { check: true, key: parsePublicKey(SCONTAIN_PUBLIC_KEY, SCONTAIN_KEY_NAME) };
  const path = flags.verifyKey;
  if (path.trim() === "" || path.length > 4096 || path.includes("\0"))
    throw new SignaturePolicyError("--verify-image-signatures: give the path of a PEM public key file (cosign.pub)");
  try {
    return { check: true, key: parsePublicKey(read(path), path) };
  } catch (e) {
    if (e instanceof KeyError) throw new SignaturePolicyError(`--verify-image-signatures ${e.message}`);
    throw e;
  }
}

function readKeyFile(path: string): string {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new SignaturePolicyError(`--verify-image-signatures ${path}: not a regular file`);
    size = st.size;
  } catch (e) {
    if (e instanceof SignaturePolicyError) throw e;
    throw new SignaturePolicyError(
      `--verify-image-signatures ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`,
    );
  }
  if (size > MAX_KEY_PEM_BYTES)
    throw new SignaturePolicyError(
      `--verify-image-signatures ${path}: ${size} bytes, not a public key (at most ${MAX_KEY_PEM_BYTES})`,
    );
  return readFileSync(path, "utf8");
}
