// Where the operator finds the CAS owner identity it submits policies with, and which signers it trusts.
//
// Design (documented in README.md of this folder):
// - One Secret per CAS, `scone-owner-<cas name>` in the CAS's namespace, data key `config.json` = the owner's
//   SCONE CLI config JSON (identity PEM key + certificate, cas_db with the attested CAS, session-signing seed).
//   Optional data key `allowed-signers`: further session-signing keys (signer strings, one per line or comma
//   separated) whose policies may be registered; the word `ANY` switches the trust list off.
// - Or a mounted file (`--policy-identity-file` / options.identityFile) holding one CLI config, used for any
//   casAddress its cas_db lists (external CASes, or clusters that prefer a mounted Secret volume).
// The identity is never logged and never stored anywhere else; only `source` (where it came from) is printed.

import type { AttestationReport } from "../../cas/attestation.ts";
import { type CasDbEntry, type CliConfig, parseCliConfig, sessionSigner } from "../../cas/identity.ts";
import { secretsForbiddenHint } from "../../install/rbac.ts";
import type { KubeClient } from "../../kube/client.ts";
import type { KubeObject } from "../../kube/types.ts";
import { casRefOfAddress, sameCasAddress } from "./address.ts";

export const OWNER_SECRET_PREFIX = "scone-owner-";
export const OWNER_CONFIG_KEY = "config.json";
export const ALLOWED_SIGNERS_KEY = "allowed-signers";

export interface PolicyOwner {
  readonly config: CliConfig;
  /** Signers trusted to register policies at this CAS; undefined = no trust list (`allowed-signers: ANY`). */
  readonly trustedSigners: readonly string[] | undefined;
  /** Where the identity came from, safe to print (never the identity itself). */
  readonly source: string;
}

export const ownerSecretName = (casName: string): string => `${OWNER_SECRET_PREFIX}${casName}`;

/** Parses `allowed-signers`: signer strings separated by newlines, commas or spaces, `#` comments; `ANY` = no list. */
export function parseAllowedSigners(text: string | undefined): readonly string[] | "ANY" {
  const entries = (text ?? "")
    .split("\n")
    .flatMap((line) => (line.split("#")[0] ?? "").split(/[\s,]+/))
    .filter((s) => s !== "");
  return entries.includes("ANY") ? "ANY" : entries;
}

/** An owner from a CLI config text plus optional allowed signers; errors name the source and the field. */
export async function ownerFromConfigText(
  configText: string,
  allowedSigners: string | undefined,
  source: string,
): Promise<PolicyOwner> {
  let value: unknown;
  try {
    value = JSON.parse(configText);
  } catch {
    throw new Error(`${source}: ${OWNER_CONFIG_KEY} is not valid JSON (expected the owner's SCONE CLI config)`);
  }
  const config = parseCliConfig(value, source);
  const allowed = parseAllowedSigners(allowedSigners);
  const trustedSigners = allowed === "ANY" ? undefined : [await sessionSigner(config), ...allowed];
  return { config, trustedSigners, source };
}

/** The cas_db entry of the config for `casAddress` (by key or by url). */
export function casDbEntryFor(config: CliConfig, casAddress: string): CasDbEntry | undefined {
  for (const [address, entry] of Object.entries(config.cas_db)) {
    if (sameCasAddress(address, casAddress) || sameCasAddress(entry.url, casAddress)) return entry;
  }
  return undefined;
}

/** The cas_db entry for a CAS attested at `casAddress`: its key hash pins the CAS for the operator's attestations. */
export function casDbEntryOfAttestation(
  casAddress: string,
  attested: { readonly report: AttestationReport; readonly caCertPem: string },
  now = new Date(),
): CasDbEntry {
  const { report } = attested;
  return {
    url: casAddress,
    chain: attested.caCertPem,
    cas_key_hash: report.cas_key_hash,
    software_key_hash: report.software_key_hash,
    session_encryption_key: report.session_encryption_key,
    version: report.version,
    attested_at: now.toISOString(),
  };
}

/** The Secret the operator reads a CAS's owner identity from (holds private keys: apply it, never print it). */
export function ownerSecret(
  cas: { readonly name: string; readonly namespace: string },
  config: CliConfig,
  allowedSigners?: readonly string[],
): KubeObject & { type: string; stringData: Record<string, string> } {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: ownerSecretName(cas.name), namespace: cas.namespace },
    type: "Opaque",
    stringData: {
      [OWNER_CONFIG_KEY]: JSON.stringify(config),
      ...(allowedSigners ? { [ALLOWED_SIGNERS_KEY]: allowedSigners.join("\n") } : {}),
    },
  };
}

type SecretObject = KubeObject & { data?: Record<string, string> };

const decodeBase64 = (value: string | undefined): string | undefined =>
  value === undefined ? undefined : Buffer.from(value, "base64").toString("utf8");

export interface OwnerSourceOptions {
  /** A mounted CLI config used for the addresses its cas_db lists. */
  readonly identityFile?: string;
  /** How long a Secret read is reused (default 10 s): 1,000 policies for one CAS cost one read, not 1,000. */
  readonly cacheMs?: number;
  /** Named in the fix when the operator may not read the Secret (default scone-system). */
  readonly operatorNamespace?: string;
}

export type OwnerLookup = (casAddress: string, signal?: AbortSignal) => Promise<PolicyOwner | undefined>;

/** identityFor() of the operator: the Secret of the CAS the address names, else the mounted file. */
export function ownerIdentitySource(client: KubeClient, options: OwnerSourceOptions = {}): OwnerLookup {
  const cacheMs = options.cacheMs ?? 10_000;
  const cache = new Map<string, { at: number; owner: Promise<PolicyOwner | undefined> }>();
  let fileOwner: Promise<PolicyOwner> | undefined;

  const fromSecret = async (namespace: string, name: string, signal?: AbortSignal) => {
    const secret = await client
      .tryGet<SecretObject>({ apiVersion: "v1", kind: "Secret", namespace, name }, signal ? { signal } : {})
      .catch((err: unknown) => {
        const hint = secretsForbiddenHint(err, options.operatorNamespace);
        throw hint ? new Error(hint) : err;
      });
    const configText = decodeBase64(secret?.data?.[OWNER_CONFIG_KEY]);
    if (!secret || configText === undefined) return undefined;
    return ownerFromConfigText(
      configText,
      decodeBase64(secret.data?.[ALLOWED_SIGNERS_KEY]),
      `Secret ${namespace}/${name}`,
    );
  };

  const fromFile = async (casAddress: string): Promise<PolicyOwner | undefined> => {
    const path = options.identityFile;
    if (!path) return undefined;
    fileOwner ??= Bun.file(path)
      .text()
      .then((text) => ownerFromConfigText(text, undefined, `identity file ${path}`));
    const owner = await fileOwner.catch((err: unknown) => {
      fileOwner = undefined; // a file fixed later is read again
      throw err;
    });
    return casDbEntryFor(owner.config, casAddress) ? owner : undefined;
  };

  return async (casAddress, signal) => {
    const ref = casRefOfAddress(casAddress);
    if (ref) {
      const key = `${ref.namespace}/${ref.name}`;
      const hit = cache.get(key);
      const now = Date.now();
      let owner: Promise<PolicyOwner | undefined>;
      if (hit && now - hit.at < cacheMs) owner = hit.owner;
      else {
        owner = fromSecret(ref.namespace, ownerSecretName(ref.name), signal);
        cache.set(key, { at: now, owner });
        owner.catch(() => cache.delete(key));
      }
      const found = await owner;
      if (found) return found;
    }
    return fromFile(casAddress);
  };
}
