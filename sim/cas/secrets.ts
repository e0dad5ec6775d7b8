// Secret values the simulated CAS generates for a session's `secrets:` (real CAS generates them inside the enclave).
// Values survive session updates as long as the secret keeps its name and kind, as applications rely on that.
import { generateKeyPairSync, randomBytes, randomInt } from "node:crypto";
import { selfSignedCa } from "./certificates.ts";
import type { SessionSecret } from "./session-doc.ts";
import type { StoredSecret } from "./store.ts";

const ASCII = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

export class SecretKindError extends Error {
  override readonly name = "SecretKindError";
}

async function generate(secret: SessionSecret): Promise<string> {
  switch (secret.kind) {
    case "ascii":
      return Array.from({ length: secret.size ?? 32 }, () => ASCII[randomInt(ASCII.length)]).join("");
    case "binary":
      return randomBytes(secret.size ?? 32).toString("base64");
    case "private-key":
      return generateKeyPairSync("ec", { namedCurve: "P-256" })
        .privateKey.export({ type: "pkcs8", format: "pem" })
        .toString();
    case "x509":
    case "x509-ca":
      // [simulated] a self-signed certificate; real CAS can also sign with an x509-ca secret (issuer:) — not modelled.
      return (await selfSignedCa(secret.name)).certPem;
    default:
      throw new SecretKindError(
        `secrets.${secret.name}: kind "${secret.kind}" needs an explicit value in the simulator (it generates ascii, binary, private-key, x509, x509-ca)`,
      );
  }
}

/** Values for a new session version: explicit values win, then the previous version's value, then a fresh one. */
export async function resolveSecrets(
  secrets: readonly SessionSecret[],
  previous: Readonly<Record<string, StoredSecret>>,
): Promise<Record<string, StoredSecret>> {
  const result: Record<string, StoredSecret> = {};
  for (const secret of secrets) {
    const kept = previous[secret.name];
    if (secret.value !== undefined) result[secret.name] = { kind: secret.kind, value: secret.value };
    else if (kept && kept.kind === secret.kind) result[secret.name] = kept;
    else result[secret.name] = { kind: secret.kind, value: await generate(secret) };
  }
  return result;
}

/** The `kind` reported by /v1/values [inferred: the documented sample shows "string" for a text secret]. */
export function publicKindOf(kind: string): string {
  return kind === "ascii" ? "string" : kind;
}
