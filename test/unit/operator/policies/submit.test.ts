// Submitting through the CAS driver with a fake CliRunner: which CLI commands run for a SignedPolicy /
// EncryptedPolicy, what body they get, and how the CLI's answers become an outcome (status). Also the owner's
// admission step (admit.ts) over fake runners for the two identities.
import { describe, expect, test } from "bun:test";
import { parse } from "yaml";
import type { CliArg, CliInputFile } from "../../../../src/cas/driver/commands.ts";
import { CasDriver } from "../../../../src/cas/driver/driver.ts";
import type { CasDriverSource, CliIdentity } from "../../../../src/cas/driver/reach.ts";
import { CliRunError, type CliRunner, type CliRunResult } from "../../../../src/cas/driver/runner.ts";
import { admitOperator, operatorAdmissionSession } from "../../../../src/operator/policies/admit.ts";
import { nextPolicyStatus } from "../../../../src/operator/policies/status.ts";
import {
  MAX_CAS_MESSAGE,
  submitEncryptedPolicy,
  submitSignedPolicy,
} from "../../../../src/operator/policies/submit.ts";

const H1 = "1a".repeat(32);
const H2 = "2b".repeat(32);
const KEY = "N2exBX7Tpyyu8g2ofoxwfMNVNbL5G4F5Zygso6MyBp78k37gr7";
const OP_KEY = "3s1pm8W6Be6cxvAQRbRP5YXd9YuERAr7KswN97uGtoPkRW87x1";
const target = { address: "cas.team-a.svc:8081", casKey: "46YyxrywJ8PFRruWX8YLxa9q4axxYJgTbA81tv7NBcJfn43DQt" };

interface Call {
  readonly argv: string[];
  readonly files: Record<string, string>;
}

/** Answers per "<word> <word>" of argv; records every call with its input files. */
class FakeRunner implements CliRunner {
  readonly description = "fake CLI";
  readonly calls: Call[] = [];
  constructor(private readonly answers: Record<string, Partial<CliRunResult> | Error>) {}
  async run(argv: readonly CliArg[], _env: Readonly<Record<string, string>>, files: readonly CliInputFile[]) {
    const flat = argv.map((a) => (typeof a === "string" ? a : `<${a.inputFile}>`));
    this.calls.push({ argv: flat, files: Object.fromEntries(files.map((f) => [f.name, String(f.content)])) });
    const answer = this.answers[`${flat[0]} ${flat[1]}`];
    if (answer instanceof Error) throw answer;
    if (!answer) return { exitCode: 2, stdout: "", stderr: `error: unrecognized subcommand '${flat[0]} ${flat[1]}'` };
    return { exitCode: 0, stdout: "", stderr: "", ...answer };
  }
}
const verbs = (r: FakeRunner) => r.calls.map((c) => `${c.argv[0]} ${c.argv[1]}`);

const spec = {
  casAddress: "https://cas.team-a:8081",
  policy: "name: app\nversion: '0.3.10'\n",
  signatures: [{ signer: KEY, signature: "18bf" }],
};

describe("submitSignedPolicy", () => {
  test("a new session: one `session create` with the signed JSON; status.hash is what the CLI printed", async () => {
    const runner = new FakeRunner({ "session create": { stdout: `${H1}\n` } });
    const outcome = await submitSignedPolicy(new CasDriver(runner), target, spec, {
      sessionName: "app",
      predecessor: null,
    });
    expect(verbs(runner)).toEqual(["session create"]);
    const create = runner.calls[0] as Call;
    expect(create.argv.slice(2, 6)).toEqual(["--cas", target.address, "--cas-key", target.casKey]);
    expect(JSON.parse(create.files["session.json"] ?? "")).toEqual({
      session: spec.policy,
      signatures: spec.signatures,
    });
    expect(outcome).toEqual({
      kind: "synced",
      hash: H1,
      predecessor: null,
      action: "Created",
      casAddress: spec.casAddress,
    });
    expect(
      nextPolicyStatus({ previous: undefined, outcome, generation: 1, validity: "SignatureValid", now: new Date() }),
    ).toMatchObject({ state: "Synced", hash: H1, predecessor: "" });
  });

  test("create refused and `session read` shows the session exists: `session update`", async () => {
    const runner = new FakeRunner({
      "session create": { exitCode: 1, stderr: "session app exists already" },
      "session read": { stdout: "name: app\n" },
      "session update": { stdout: H2 },
    });
    const o = await submitSignedPolicy(new CasDriver(runner), target, spec, { sessionName: "app", predecessor: null });
    expect(verbs(runner)).toEqual(["session create", "session read", "session update"]);
    expect(runner.calls[1]?.argv).toEqual([
      "session",
      "read",
      "--cas",
      target.address,
      "--cas-key",
      target.casKey,
      "app",
    ]);
    expect(o).toMatchObject({ kind: "synced", hash: H2, action: "Updated" });
  });

  test("a predecessor in the text goes straight to update; status.predecessor is that hash", async () => {
    const next = new FakeRunner({ "session update": { stdout: `${H2}\n` } });
    const o = await submitSignedPolicy(new CasDriver(next), target, spec, { sessionName: "app", predecessor: H1 });
    expect(verbs(next)).toEqual(["session update"]);
    expect(o).toEqual({ kind: "synced", hash: H2, predecessor: H1, action: "Updated", casAddress: spec.casAddress });
  });

  test("the CAS's refusal is casRejected with the CLI's words, bounded; a refused or empty read does not hide it", async () => {
    const long = `signature does not verify for signer ${KEY} ${"x".repeat(5000)}`;
    for (const read of [{ exitCode: 2 }, { exitCode: 1, stderr: "access denied (read: NONE)" }]) {
      const runner = new FakeRunner({ "session create": { exitCode: 1, stderr: long }, "session read": read });
      const o = await submitSignedPolicy(new CasDriver(runner), target, spec, {
        sessionName: "app",
        predecessor: null,
      });
      expect(verbs(runner)).toEqual(["session create", "session read"]);
      expect(o.kind).toBe("casRejected");
      const message = o.kind === "casRejected" ? o.message : "";
      expect(message).toContain("ERROR 50014-1029-7745");
      expect(message).toContain(`signature does not verify for signer ${KEY}`);
      expect(message.length).toBeLessThanOrEqual(MAX_CAS_MESSAGE + 1);
    }
  });

  test("a CLI that cannot run is an Error (retried), and an unreadable answer is one too", async () => {
    const down = new FakeRunner({ "session create": new CliRunError("spawn failed") });
    const o1 = await submitSignedPolicy(new CasDriver(down), target, spec, { sessionName: "app", predecessor: null });
    expect(o1).toMatchObject({ kind: "error", reason: "CasUnavailable" });
    const odd = new FakeRunner({ "session create": { stdout: "created!" } });
    const o2 = await submitSignedPolicy(new CasDriver(odd), target, spec, { sessionName: "app", predecessor: null });
    expect(o2).toMatchObject({ kind: "error", reason: "CasError" });
  });
});

describe("submitEncryptedPolicy", () => {
  test("uploaded with session create as {encrypted_session, encryption_key}", async () => {
    const runner = new FakeRunner({ "session create": { stdout: H1 } });
    const enc = { casAddress: spec.casAddress, policy: "T2NISjQ5", encryptionKey: "b2".repeat(32) };
    const o = await submitEncryptedPolicy(new CasDriver(runner), target, enc);
    expect(verbs(runner)).toEqual(["session create"]);
    expect(JSON.parse(runner.calls[0]?.files["session.json"] ?? "")).toEqual({
      encrypted_session: enc.policy,
      encryption_key: enc.encryptionKey,
    });
    expect(o).toMatchObject({ kind: "synced", hash: H1, action: "Created" });
  });
});

describe("admitOperator", () => {
  const sourceOf = (runners: { owner: FakeRunner; operator: FakeRunner }, seen: CliIdentity[]): CasDriverSource => ({
    description: "fake",
    connect: async (cas, identity) => {
      seen.push(identity);
      const runner = identity.kind === "owner" ? runners.owner : runners.operator;
      return {
        driver: new CasDriver(runner),
        address: `${cas.name}.${cas.namespace}.svc:8081`,
        release: async () => {},
      };
    },
  });

  test("the owner creates a session whose access_policy admits the operator's key hash; the operator attests pinned", async () => {
    const owner = new FakeRunner({
      "cas show-identification": { stdout: target.casKey },
      "session read": { exitCode: 2 },
      "session create": { stdout: H1 },
    });
    const operator = new FakeRunner({
      "self show-key-hash": { stdout: `${OP_KEY}\n` },
      "cas attest": { stdout: "attested" },
      "cas set-default": {},
      "cas show-identification": { stdout: target.casKey },
    });
    const seen: CliIdentity[] = [];
    const out = await admitOperator(sourceOf({ owner, operator }, seen), {
      cas: { name: "cas", namespace: "team-a" },
      ownerConfigPath: "/owner/identity/config.json",
    });
    expect(seen).toEqual([{ kind: "operator" }, { kind: "owner", configPath: "/owner/identity/config.json" }]);
    expect(out).toMatchObject({ operatorKeyHash: OP_KEY, session: "scone-operator", action: "Created", hash: H1 });
    const created = owner.calls.find((c) => c.argv[1] === "create") as Call;
    expect(parse(created.files["session.yml"] ?? "")).toEqual({
      name: "scone-operator",
      version: "0.3.10",
      access_policy: { read: ["CREATOR", OP_KEY], update: ["CREATOR"], create_sessions: ["CREATOR", OP_KEY] },
    });
    const attest = operator.calls.find((c) => c.argv[1] === "attest") as Call;
    expect(attest.argv.slice(2, 5)).toEqual(["cas.team-a.svc:8081", "-c", target.casKey]);
  });

  test("an existing admission session is updated (the CLI fills the predecessor)", async () => {
    const owner = new FakeRunner({
      "cas show-identification": { stdout: target.casKey },
      "session read": { stdout: "name: ops\n" },
      "session update": { stdout: H2 },
    });
    const operator = new FakeRunner({
      "self show-key-hash": { stdout: OP_KEY },
      "cas attest": {},
      "cas set-default": {},
      "cas show-identification": { stdout: target.casKey },
    });
    const out = await admitOperator(sourceOf({ owner, operator }, []), {
      cas: { name: "cas", namespace: "team-a" },
      ownerConfigPath: "/o.json",
      session: "ops",
    });
    expect(out).toMatchObject({ action: "Updated", hash: H2, session: "ops" });
    expect(verbs(owner)).toEqual([
      "cas show-identification",
      "cas show-identification",
      "session read",
      "session update",
    ]);
  });

  test("a session name the CLI would read as an option is refused before any call", () => {
    expect(() => operatorAdmissionSession("--trust-any", OP_KEY)).toThrow("session");
  });
});
