// The CAS calls the policy controllers make, as a port: production attests the CAS (its key hash comes from the
// owner identity's cas_db, learned when the owner attested/provisioned it), pins the TLS CA the signed report
// names, and presents the owner identity as the client certificate. Tests may pass any implementation.
import { CasAttestationError } from "../../cas/attestation.ts";
import { attestCas, CasClient, type EncryptedSessionUpload } from "../../cas/client.ts";
import { identityKeyHash, identityPem } from "../../cas/identity.ts";
import type { SignedSession } from "../../cas/session.ts";
import { type CasAddressResolver, inClusterResolver } from "./address.ts";
import { casDbEntryFor, type PolicyOwner } from "./owner.ts";

export interface PolicyCas {
  createSession(session: SignedSession): Promise<{ hash: string }>;
  /** The predecessor is inside the signed text (a signature cannot survive adding it). */
  updateSession(session: SignedSession): Promise<{ hash: string }>;
  /** The active version (needs read permission under the session's access policy). */
  readSession(name: string, signal?: AbortSignal): Promise<{ hash: string; session: string }>;
  uploadEncryptedSession(upload: EncryptedSessionUpload): Promise<{ hash: string }>;
  /** The attested CAS's session-encryption key, 64 hex. */
  sessionEncryptionKey(): Promise<string>;
}

export type PolicyCasFactory = (casAddress: string, owner: PolicyOwner) => Promise<PolicyCas>;

/** The operator cannot talk to this CAS as its owner yet (configuration, not a transient failure). */
export class PolicySetupError extends Error {
  override readonly name = "PolicySetupError";
}

export interface AttestedCasOptions {
  readonly resolve?: CasAddressResolver;
  readonly timeoutMs?: number;
  /** How long one attestation (and the pinned client) is reused (default 5 min). */
  readonly reuseMs?: number;
}

/** casClientFor() of the operator. */
export function attestedCasClients(options: AttestedCasOptions = {}): PolicyCasFactory {
  const resolve = options.resolve ?? inClusterResolver;
  const reuseMs = options.reuseMs ?? 5 * 60_000;
  const cache = new Map<string, { at: number; cas: Promise<PolicyCas> }>();

  const connect = async (casAddress: string, owner: PolicyOwner): Promise<PolicyCas> => {
    const entry = casDbEntryFor(owner.config, casAddress);
    if (!entry?.cas_key_hash) {
      throw new PolicySetupError(
        `the owner identity (${owner.source}) has no cas_db entry with the CAS key hash for ${casAddress}: attest that CAS with the owner identity first`,
      );
    }
    const address = resolve(casAddress);
    const timeoutMs = options.timeoutMs ?? 20_000;
    const attested = await attestCas(address.url, { casKeyHash: entry.cas_key_hash, timeoutMs });
    const client = new CasClient({
      url: address.url,
      caCertPem: attested.caCertPem,
      identity: identityPem(owner.config),
      timeoutMs,
      ...(address.serverName ? { serverName: address.serverName } : {}),
    });
    const sessionEncryptionKey = attested.report.session_encryption_key;
    return {
      createSession: (session) => client.createSession(session),
      updateSession: (session) => client.updateSession(session),
      readSession: (name, signal) => client.readSession(name, undefined, signal ? { signal } : {}),
      uploadEncryptedSession: (upload) => client.uploadEncryptedSession(upload),
      sessionEncryptionKey: async () => sessionEncryptionKey,
    };
  };

  return (casAddress, owner) => {
    const key = `${casAddress}\u0000${identityKeyHash(owner.config)}\u0000${casDbEntryFor(owner.config, casAddress)?.cas_key_hash ?? ""}`;
    const now = Date.now();
    const hit = cache.get(key);
    if (hit && now - hit.at < reuseMs) return hit.cas;
    const cas = connect(casAddress, owner);
    cache.set(key, { at: now, cas });
    // A failed attestation is not remembered: the next reconcile tries again.
    cas.catch(() => cache.delete(key));
    return cas;
  };
}

export const isAttestationError = (err: unknown): boolean => err instanceof CasAttestationError;
