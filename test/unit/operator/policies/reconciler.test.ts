// The policy reconcile's composition without a cluster: the caches are lists, the client records the statuses it is
// asked to write, the CAS driver is a fake that answers per call, the clock is a number.
import { describe, expect, test } from "bun:test";
import { type CasTarget, SconeCliError } from "../../../../src/cas/driver/commands.ts";
import type { CasDriver } from "../../../../src/cas/driver/driver.ts";
import type { CasDriverSource } from "../../../../src/cas/driver/reach.ts";
import { CliRunError } from "../../../../src/cas/driver/runner.ts";
import type { Informer } from "../../../../src/kube/informer.ts";
import type { KubeObject } from "../../../../src/kube/types.ts";
import type { Logger } from "../../../../src/log.ts";
import { ENCRYPTED_POLICY, SIGNED_POLICY } from "../../../../src/operator/policies/kinds.ts";
import { PolicyMemory } from "../../../../src/operator/policies/observe.ts";
import { type PolicyReconcilerDeps, policyReconciler } from "../../../../src/operator/policies/reconciler.ts";
import { SubmissionScheduler } from "../../../../src/operator/policies/schedule.ts";
import type { OperatorContext } from "../../../../src/operator/wiring.ts";
import type { PolicyStatus } from "../../../../src/resources/policies.ts";
import { POLICY_REASON } from "../../../../src/resources/policy-conditions.ts";
import type { ReconcileContext } from "../../../../src/runtime/controller.ts";

const NS = "team-a";
const ADDRESS = `https://cas.${NS}:8081`;
const H1 = "1a".repeat(32);
const H2 = "2b".repeat(32);
const RETRY_MS = 500;
const REJECTED_RETRY_MS = 300_000;
const SECRET_TEXT = "secret-service-command";

const cliError = (stderr: string) => new SconeCliError("create_session" as never, null, 1, stderr);

/** A synced cache over a list the test may change. */
function cache(objects: KubeObject[]): Informer<KubeObject> {
  return {
    name: "policies",
    hasSynced: () => true,
    get: (ns: string, name: string) => objects.find((o) => o.metadata?.namespace === ns && o.metadata?.name === name),
    list: () => objects,
  } as unknown as Informer<KubeObject>;
}

/** What the fake CAS answers; each verb a function so a test can change its mind. */
interface Answers {
  connect?: () => void;
  casKeys?: () => string;
  create?: (body: string) => string;
  read?: () => string | null;
  update?: (body: string) => string;
}

function world(signed: KubeObject[], encrypted: KubeObject[] = [], answers: Answers = {}) {
  const cli: string[] = [];
  const statuses: { name: string; status: PolicyStatus }[] = [];
  const events: string[] = [];
  const logs: string[] = [];
  const clock = { now: 1_000_000 };
  const driver = {
    casKeys: async () => {
      cli.push("cas_keys");
      return { casKey: answers.casKeys ? answers.casKeys() : "CASKEY", casSoftwareKey: null };
    },
    createSession: async (target: CasTarget, body: string) => {
      cli.push(`create ${target.casKey}`);
      return answers.create ? answers.create(body) : H1;
    },
    readSession: async () => {
      cli.push("read");
      return answers.read ? answers.read() : null;
    },
    updateSession: async (_t: CasTarget, body: string) => {
      cli.push("update");
      return answers.update ? answers.update(body) : H2;
    },
  } as unknown as CasDriver;
  const source: CasDriverSource = {
    description: "fake source",
    connect: async (_cas, identity) => {
      cli.push(`connect ${identity.kind}`);
      answers.connect?.();
      return { driver, address: "cas.team-a:8081", release: async () => {} };
    },
  };
  const client = {
    tryGet: async () => undefined,
    applyStatus: async (o: KubeObject & { status: PolicyStatus }) => {
      statuses.push({ name: o.metadata?.name ?? "", status: o.status });
      return o;
    },
  };
  const ctx = {
    client,
    kit: {
      client,
      events: { record: (_o: KubeObject, type: string, reason: string) => events.push(`${type} ${reason}`) },
    },
  } as unknown as OperatorContext;
  const d: PolicyReconcilerDeps = {
    ctx,
    caches: { signed: cache(signed), encrypted: cache(encrypted) },
    memory: new PolicyMemory(),
    now: () => clock.now,
    log: { info: (msg: string, fields: unknown) => logs.push(`${msg} ${JSON.stringify(fields)}`) } as unknown as Logger,
    source,
    scheduler: new SubmissionScheduler(),
    casKeys: new Map(),
    targetReuseMs: 60_000,
    retryMs: RETRY_MS,
    casRejectedRetryMs: REJECTED_RETRY_MS,
  };
  const signedReconcile = policyReconciler(SIGNED_POLICY, d);
  const encryptedReconcile = policyReconciler(ENCRYPTED_POLICY, d);
  const ctxs: ReconcileContext[] = [];
  const run = (reconcile: typeof signedReconcile) => async (name: string) => {
    const rctx: ReconcileContext = { signal: new AbortController().signal, actions: [] };
    ctxs.push(rctx);
    return reconcile({ namespace: NS, name }, rctx);
  };
  const last = () => statuses.at(-1)?.status;
  const synced = () => last()?.conditions?.find((c) => c.type === "Synced");
  return {
    d,
    cli,
    statuses,
    events,
    logs,
    clock,
    ctxs,
    last,
    synced,
    signed: run(signedReconcile),
    encrypted: run(encryptedReconcile),
  };
}

const signedPolicy = (name: string, text: string, extra: Partial<KubeObject> & { status?: PolicyStatus } = {}) =>
  ({
    apiVersion: "cas.scone.cloud/v1beta1",
    kind: "SignedPolicy",
    metadata: { name, namespace: NS, uid: `u-${name}`, generation: 1, resourceVersion: "7" },
    spec: { casAddress: ADDRESS, policy: text, signatures: [{ signer: "N2exBX7", signature: "18bf" }] },
    ...extra,
  }) as KubeObject;
const session = (name: string, predecessor = "~") =>
  `name: ${name}\npredecessor: ${predecessor}\nservices:\n  - name: app\n    command: ${SECRET_TEXT}\n`;

describe("policyReconciler (SignedPolicy)", () => {
  test("a new policy: created at the CAS as the operator, Synced with the CAS's hash; then steady, no CLI call", async () => {
    const w = world([signedPolicy("app", session("app"))]);
    expect(await w.signed("app")).toBeUndefined();
    expect(w.cli).toEqual(["connect operator", "cas_keys", "create CASKEY"]);
    expect(w.last()).toMatchObject({
      state: "Synced",
      hash: H1,
      predecessor: "",
      revision: "1",
      observedGeneration: 1,
    });
    expect(w.synced()?.reason).toBe(POLICY_REASON.Created);
    expect(w.events).toEqual(["Normal Created"]);
    expect(w.ctxs[0]?.actions).toEqual(["update status", "created session app"]);
    expect(w.ctxs[0]?.observed).toEqual({ generation: 1, resourceVersion: "7" });

    // The cache has not seen our status yet: the memory has, so nothing is sent or written again.
    expect(await w.signed("app")).toBeUndefined();
    expect(w.cli).toHaveLength(3);
    expect(w.statuses).toHaveLength(1);
  });

  test("an update naming its predecessor goes to session update; status carries the predecessor", async () => {
    const w = world([signedPolicy("v2", session("app", H1))]);
    await w.signed("v2");
    expect(w.cli).toEqual(["connect operator", "cas_keys", "update"]);
    expect(w.last()).toMatchObject({ state: "Synced", hash: H2, predecessor: H1 });
    expect(w.synced()?.reason).toBe(POLICY_REASON.Updated);
    expect(w.ctxs[0]?.actions).toContain("updated session app");
  });

  test("CAS not reachable: Error CasUnavailable, retried after retryMs and not before (not at our own write)", async () => {
    let down = true;
    const w = world([signedPolicy("app", session("app"))], [], {
      connect: () => {
        if (down) throw new CliRunError("no CLI pod");
      },
    });
    expect(await w.signed("app")).toEqual({ requeueAfterMs: RETRY_MS });
    expect(w.last()?.state).toBe("Error");
    expect(w.synced()?.reason).toBe(POLICY_REASON.CasUnavailable);
    expect(w.events).toEqual([`Warning ${POLICY_REASON.CasUnavailable}`]);
    // Names and outcome only in the log: never the policy text.
    expect(w.logs).toHaveLength(1);
    expect(w.logs[0]).toContain("SignedPolicy team-a/app");
    expect(w.logs[0]).not.toContain(SECRET_TEXT);

    w.clock.now += 100;
    expect(await w.signed("app")).toEqual({ requeueAfterMs: RETRY_MS - 100 });
    expect(w.cli).toEqual(["connect operator"]);

    w.clock.now += RETRY_MS;
    down = false;
    expect(await w.signed("app")).toBeUndefined();
    expect(w.last()?.state).toBe("Synced");
  });

  test("refused by the CAS: Rejected CasRejected with the CLI's words, looked at again after casRejectedRetryMs", async () => {
    const w = world([signedPolicy("app", session("app"))], [], {
      create: () => {
        throw cliError("access denied: create_sessions");
      },
    });
    expect(await w.signed("app")).toEqual({ requeueAfterMs: REJECTED_RETRY_MS });
    // The session does not exist (read: none), so the create's refusal is the answer.
    expect(w.cli).toEqual(["connect operator", "cas_keys", "create CASKEY", "read"]);
    expect(w.last()?.state).toBe("Rejected");
    expect(w.synced()).toMatchObject({ reason: POLICY_REASON.CasRejected });
    expect(w.synced()?.message).toContain("create_sessions");
    expect(w.events).toEqual(["Warning CasRejected"]);
    w.clock.now += 1;
    expect(await w.signed("app")).toEqual({ requeueAfterMs: REJECTED_RETRY_MS - 1 });
    expect(w.cli).toHaveLength(4);
  });

  test("a CAS the operator has not attested: Error CasNotAttested; the key is asked again at the next try", async () => {
    let attested = false;
    const w = world([signedPolicy("app", session("app"))], [], {
      casKeys: () => {
        if (!attested) throw cliError("no attestation for this CAS");
        return "CASKEY";
      },
    });
    expect(await w.signed("app")).toEqual({ requeueAfterMs: RETRY_MS });
    expect(w.synced()?.reason).toBe(POLICY_REASON.CasNotAttested);
    expect(w.synced()?.message).toContain("scone cas admit-operator cas -n team-a");
    attested = true;
    w.clock.now += RETRY_MS;
    await w.signed("app");
    expect(w.cli).toEqual(["connect operator", "cas_keys", "connect operator", "cas_keys", "create CASKEY"]);
    expect(w.last()?.state).toBe("Synced");
  });

  test("a spec without signatures: Rejected NotSubmitted, Warning PolicyMalformed, nothing sent, not retried", async () => {
    const w = world([
      signedPolicy("bad", session("app"), {
        spec: { casAddress: ADDRESS, policy: session("app"), signatures: [] },
      } as never),
    ]);
    expect(await w.signed("bad")).toBeUndefined();
    expect(w.cli).toEqual([]);
    expect(w.last()?.state).toBe("Rejected");
    expect(w.synced()?.reason).toBe(POLICY_REASON.NotSubmitted);
    expect(w.last()?.conditions?.find((c) => c.type === "SignatureValid")?.reason).toBe(POLICY_REASON.MissingField);
    expect(w.events).toEqual(["Warning PolicyMalformed"]);
    expect(await w.signed("bad")).toBeUndefined();
    expect(w.statuses).toHaveLength(1);
  });

  test("a policy being deleted or gone: no CLI call, no write (the CAS keeps the session); its memory goes", async () => {
    const deleting = signedPolicy("app", session("app"), {
      metadata: { name: "app", namespace: NS, uid: "u-app", generation: 1, deletionTimestamp: "2026-01-01T00:00:00Z" },
    } as never);
    const w = world([deleting]);
    expect(await w.signed("app")).toBeUndefined();
    expect(await w.signed("gone")).toBeUndefined();
    expect(w.cli).toEqual([]);
    expect(w.statuses).toEqual([]);
  });

  test("a forgotten policy's retry goes with it: re-created under the same name, it is submitted at once", async () => {
    const objects = [signedPolicy("app", session("app"))];
    let down = true;
    const w = world(objects, [], {
      connect: () => {
        if (down) throw new CliRunError("no CLI pod");
      },
    });
    await w.signed("app");
    objects.length = 0;
    await w.signed("app");
    down = false;
    // Re-created with the Error status an earlier operator wrote, for this generation: no retry is pending.
    objects.push(signedPolicy("app", session("app"), { status: w.last() } as never));
    await w.signed("app");
    expect(w.last()?.state).toBe("Synced");
  });

  test("the policy whose version a successor replaced becomes Superseded without a CLI call", async () => {
    const v1Status: PolicyStatus = {
      state: "Synced",
      hash: H1,
      predecessor: "",
      observedGeneration: 1,
      conditions: [],
    };
    const v2Status: PolicyStatus = {
      state: "Synced",
      hash: H2,
      predecessor: H1,
      observedGeneration: 1,
      conditions: [],
    };
    const w = world([
      signedPolicy("v1", session("app"), { status: v1Status } as never),
      signedPolicy("v2", session("app", H1), { status: v2Status } as never),
    ]);
    // What the informer's handler does as v2's status arrives in the cache.
    w.d.memory.index("SignedPolicy:team-a/v2", v2Status);
    expect(await w.signed("v1")).toBeUndefined();
    expect(w.cli).toEqual([]);
    expect(w.last()).toMatchObject({ state: "Superseded", hash: H1 });
    expect(w.synced()?.message).toContain("SignedPolicy team-a/v2");
    expect(w.events).toEqual(["Normal Superseded"]);
    // v2 itself stays Synced: nothing names its hash.
    expect(await w.signed("v2")).toBeUndefined();
    expect(w.statuses).toHaveLength(1);
  });
});

describe("policyReconciler (EncryptedPolicy)", () => {
  test("uploaded with session create; EncryptionKeyValid, and the history names the hash", async () => {
    const enc = {
      apiVersion: "cas.scone.cloud/v1beta1",
      kind: "EncryptedPolicy",
      metadata: { name: "enc", namespace: NS, uid: "u-enc", generation: 3 },
      spec: { casAddress: ADDRESS, policy: "Y2lwaGVydGV4dA==", encryptionKey: "ab".repeat(32) },
    } as KubeObject;
    const w = world([], [enc]);
    expect(await w.encrypted("enc")).toBeUndefined();
    expect(w.cli).toEqual(["connect operator", "cas_keys", "create CASKEY"]);
    expect(w.last()).toMatchObject({ state: "Synced", hash: H1, observedGeneration: 3 });
    expect(w.last()?.conditions?.find((c) => c.type === "EncryptionKeyValid")?.status).toBe("True");
    expect(w.ctxs[0]?.actions).toContain(`upload encrypted session ${H1}`);
  });

  test("a signed and an encrypted policy of one name are two policies", async () => {
    const enc = {
      apiVersion: "cas.scone.cloud/v1beta1",
      kind: "EncryptedPolicy",
      metadata: { name: "app", namespace: NS, uid: "u-enc", generation: 1 },
      spec: { casAddress: ADDRESS, policy: "Y2lwaGVy", encryptionKey: "ab".repeat(32) },
    } as KubeObject;
    const w = world([signedPolicy("app", session("app"))], [enc]);
    await w.signed("app");
    await w.encrypted("app");
    expect(w.statuses.map((s) => s.status.state)).toEqual(["Synced", "Synced"]);
  });
});
