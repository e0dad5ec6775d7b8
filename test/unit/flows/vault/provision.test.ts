// The vault flow over its ports (an in-memory CAS), its session steps through the CAS driver with a scripted
// SCONE CLI (argv per SCONE-CLI.md §3: read, create, calculate-hash, update with the predecessor), the sessions,
// the manifest and the CLI flags.
import { describe, expect, test } from "bun:test";
import { parse } from "yaml";
import type { CliArg, CliInputFile } from "../../../../src/cas/driver/commands.ts";
import { CasDriver } from "../../../../src/cas/driver/driver.ts";
import type { CliRunner, CliRunResult } from "../../../../src/cas/driver/runner.ts";
import { vaultModeChecks } from "../../../../src/cli/commands/vault.ts";
import { parseCasFlag, vaultFlags } from "../../../../src/cli/run/vault.ts";
import { uploadSessionWithHash } from "../../../../src/flows/provision/steps.ts";
import {
  type ProvisionState,
  provisionVault,
  type SessionAction,
  type VaultProvisionPorts,
} from "../../../../src/flows/vault/provision.ts";
import {
  casNotReadyReason,
  manifestWithVariables,
  newOwnerId,
  substituteVariables,
  vaultManifest,
  vaultSessionNames,
  vaultSessions,
} from "../../../../src/flows/vault/sessions.ts";
import { validate } from "../../../../src/resources/validation.ts";
import { parseSession } from "../../../support/cas-legacy/session.ts";

const HEALTHY = { provisioned: "Yes", phase: "HEALTHY", state: "HEALTHY", migrationNodeAlert: 0 };
const input = {
  vaultName: "v",
  namespace: "ns",
  casName: "cas",
  casNamespace: "ns",
  mrenclaves: ["a".repeat(64)],
  manifest: (ownerId: string) => ({ kind: "Vault", ownerId }),
};

/** An in-memory CAS behind the upload port: name → body; a hash per stored version. */
class FakePorts implements VaultProvisionPorts {
  state: ProvisionState | undefined;
  saves = 0;
  readonly uploads: { name: string; action: SessionAction }[] = [];
  readonly applied: Record<string, unknown>[] = [];
  readonly stored = new Map<string, { text: string; version: number }>();
  failAt: string | undefined;
  cas: Awaited<ReturnType<VaultProvisionPorts["casStatus"]>> = HEALTHY;
  async casStatus() {
    return this.cas;
  }
  async uploadSession(name: string, text: string) {
    if (name === this.failAt) throw new Error(`CAS unreachable uploading ${name}`);
    const current = this.stored.get(name);
    const action: SessionAction = !current ? "created" : current.text === text ? "unchanged" : "updated";
    const version = action === "created" ? 1 : (current?.version ?? 0) + (action === "updated" ? 1 : 0);
    this.stored.set(name, { text, version });
    if (action !== "unchanged") this.uploads.push({ name, action });
    return { action, hash: `h-${name}-${version}` };
  }
  async applyVault(m: Record<string, unknown>) {
    this.applied.push(m);
  }
  async loadState() {
    return this.state;
  }
  async saveState(s: ProvisionState) {
    this.state = s;
    this.saves++;
  }
}

describe("provisionVault", () => {
  test("refuses a CAS that is absent, unprovisioned, unhealthy or not fully migratable, naming the fix", async () => {
    const ports = new FakePorts();
    for (const [cas, message] of [
      ["absent", /not found: name it with --cas/],
      [{ ...HEALTHY, provisioned: "No" }, /not provisioned.*scone cas provision/],
      [{ ...HEALTHY, state: "PENDING" }, /not HEALTHY/],
      [{ ...HEALTHY, migrationNodeAlert: 2 }, /not fully migratable/],
    ] as const) {
      ports.cas = cas;
      await expect(provisionVault(input, ports)).rejects.toThrow(message);
    }
    expect(ports.uploads).toEqual([]);
    expect(ports.state).toBeUndefined();
  });

  test("uploads every session once, then applies the Vault with the same OWNER_ID", async () => {
    const ports = new FakePorts();
    const result = await provisionVault(input, ports);
    const names = vaultSessionNames(result.ownerId);
    expect(ports.uploads.map((u) => u.name)).toEqual([
      names.mrenclaves,
      names.initParent,
      names.initAuto,
      names.vault,
      names.verifier,
    ]);
    expect(ports.uploads.every((u) => u.action === "created")).toBe(true);
    expect(ports.applied).toEqual([{ kind: "Vault", ownerId: result.ownerId }]);
    expect(ports.state?.ownerId).toBe(result.ownerId);
    expect(ports.state?.sessions[names.vault]).toBe(`h-${names.vault}-1`);
    expect(result.resumed).toBe(false);
  });

  test("a rerun changes nothing: same OWNER_ID, every session unchanged, the state not rewritten", async () => {
    const ports = new FakePorts();
    const first = await provisionVault(input, ports);
    const saves = ports.saves;
    ports.uploads.length = 0;
    const again = await provisionVault(input, ports);
    expect(again.resumed).toBe(true);
    expect(again.ownerId).toBe(first.ownerId);
    expect(ports.uploads).toEqual([]);
    expect(again.sessions.map((s) => s.action)).toEqual(Array(5).fill("unchanged"));
    expect(ports.saves).toBe(saves);
  });

  test("other MRENCLAVEs on a rerun update the sessions that carry them, recording the new hashes", async () => {
    const ports = new FakePorts();
    const first = await provisionVault(input, ports);
    ports.uploads.length = 0;
    await provisionVault({ ...input, mrenclaves: ["c".repeat(64)] }, ports);
    const names = vaultSessionNames(first.ownerId);
    expect(ports.uploads.map((u) => u.action)).toEqual(Array(5).fill("updated"));
    expect(ports.state?.sessions[names.mrenclaves]).toBe(`h-${names.mrenclaves}-2`);
  });

  test("a failed upload keeps what was done; the rerun continues there with the same OWNER_ID", async () => {
    const fresh = new FakePorts();
    // The third upload fails, whatever the OWNER_ID: its name is known once the state exists.
    fresh.saveState = async (s) => {
      fresh.state = s;
      fresh.failAt = vaultSessionNames(s.ownerId).initAuto;
    };
    await expect(provisionVault(input, fresh)).rejects.toThrow(/CAS unreachable/);
    expect(Object.keys(fresh.state?.sessions ?? {}).length).toBe(2);
    expect(fresh.applied).toEqual([]);
    const ownerId = fresh.state?.ownerId;
    fresh.saveState = async (s) => {
      fresh.state = s;
    };
    fresh.failAt = undefined;
    const again = await provisionVault(input, fresh);
    expect(again.ownerId).toBe(ownerId as string);
    expect(fresh.uploads.length).toBe(5);
    expect(again.sessions.map((s) => s.action)).toEqual(["unchanged", "unchanged", "created", "created", "created"]);
    expect(fresh.applied.length).toBe(1);
  });
});

// ---- the session steps through the CAS driver ----------------------------------------------------------------------

const ADDRESS = "cas.ns.svc:8081";
const CAS_KEY = "46YyxrywJ8PFRruWX8YLxa9q4axxYJgTbA81tv7NBcJfn43DQt";
const TARGET = { address: ADDRESS, casKey: CAS_KEY };

/** A scripted SCONE CLI in front of a session store: answers session read/create/update/calculate-hash per CLI §3. */
class ScriptedCli implements CliRunner {
  readonly description = "scripted CLI";
  readonly calls: string[][] = [];
  readonly bodies: Record<string, string>[] = [];
  readonly store = new Map<string, string>();
  async run(argv: readonly CliArg[], _env: Readonly<Record<string, string>>, files: readonly CliInputFile[]) {
    const flat = argv.map((a) => (typeof a === "string" ? a : `<${a.inputFile}>`));
    const body = files[0] ? String(files[0].content) : "";
    this.calls.push(flat);
    this.bodies.push(Object.fromEntries(files.map((f) => [f.name, String(f.content)])));
    const ok = (stdout: string): CliRunResult => ({ exitCode: 0, stdout, stderr: "" });
    const [w0, w1] = flat;
    if (w0 === "session" && w1 === "read") {
      const stored = this.store.get(flat.at(-1) ?? "");
      return stored === undefined ? { exitCode: 2, stdout: "", stderr: "session not found" } : ok(stored);
    }
    if (w0 === "session" && w1 === "calculate-hash") return ok(`${hashOf(body)}\n`);
    if (w0 === "session" && (w1 === "create" || w1 === "update")) {
      const doc = parse(body) as { name: string; predecessor?: string };
      const current = this.store.get(doc.name);
      if (w1 === "create" && current !== undefined) return { exitCode: 1, stdout: "", stderr: "session exists" };
      if (w1 === "update" && doc.predecessor !== (current === undefined ? undefined : hashOf(current)))
        return { exitCode: 1, stdout: "", stderr: "predecessor does not match" };
      // CAS stores the session with its creator set (CLI §5 "Hash mismatch risk"): the read-back differs in it.
      this.store.set(doc.name, `${body}creator: ${CAS_KEY}\n`);
      return ok(`${hashOf(this.store.get(doc.name) ?? "")}\n`);
    }
    return { exitCode: 1, stdout: "", stderr: `unexpected ${flat.join(" ")}` };
  }
}

/** A stand-in session hash: 64 hex from the body (the real one is the CLI's business, CLI §6). */
function hashOf(text: string): string {
  return new Bun.CryptoHasher("sha256").update(text).digest("hex");
}

describe("vault sessions through the CAS driver (scripted SCONE CLI)", () => {
  const driverPorts = (cli: ScriptedCli): FakePorts => {
    const ports = new FakePorts();
    const driver = new CasDriver(cli);
    ports.uploadSession = (name, text) => uploadSessionWithHash(driver, TARGET, name, text);
    return ports;
  };

  test("a first run reads each session (exit 2: none), creates it with --cas/--cas-key, records the CLI's hash", async () => {
    const cli = new ScriptedCli();
    const ports = driverPorts(cli);
    const result = await provisionVault(input, ports);
    const names = vaultSessionNames(result.ownerId);
    expect(cli.calls.slice(0, 2)).toEqual([
      ["session", "read", "--cas", ADDRESS, "--cas-key", CAS_KEY, names.mrenclaves],
      ["session", "create", "--cas", ADDRESS, "--cas-key", CAS_KEY, expect.stringMatching(/^<.+\.yml>$/)],
    ]);
    expect(cli.calls.filter((c) => c[1] === "create").length).toBe(5);
    expect(ports.state?.sessions[names.vault]).toBe(hashOf(cli.store.get(names.vault) ?? ""));
    expect(result.sessions.every((s) => s.action === "created")).toBe(true);
  });

  test("a rerun only reads (and hashes what it read): nothing is created or updated", async () => {
    const cli = new ScriptedCli();
    const ports = driverPorts(cli);
    const first = await provisionVault(input, ports);
    cli.calls.length = 0;
    const again = await provisionVault(input, ports);
    expect(again.ownerId).toBe(first.ownerId);
    expect(new Set(cli.calls.map((c) => `${c[0]} ${c[1]}`))).toEqual(
      new Set(["session read", "session calculate-hash"]),
    );
    expect(again.sessions.map((s) => s.hash)).toEqual(first.sessions.map((s) => s.hash));
  });

  test("a changed session is updated with predecessor = the CLI's hash of the active version", async () => {
    const cli = new ScriptedCli();
    const ports = driverPorts(cli);
    const first = await provisionVault(input, ports);
    const names = vaultSessionNames(first.ownerId);
    const active = cli.store.get(names.mrenclaves) ?? "";
    cli.calls.length = 0;
    cli.bodies.length = 0;
    await provisionVault({ ...input, mrenclaves: ["c".repeat(64)] }, ports);
    expect(cli.calls.slice(0, 3)).toEqual([
      ["session", "read", "--cas", ADDRESS, "--cas-key", CAS_KEY, names.mrenclaves],
      ["session", "calculate-hash", expect.stringMatching(/^<.+\.yml>$/)],
      ["session", "update", "--cas", ADDRESS, "--cas-key", CAS_KEY, expect.stringMatching(/^<.+\.yml>$/)],
    ]);
    const updated = parse(Object.values(cli.bodies[2] ?? {})[0] ?? "") as { predecessor?: string };
    expect(updated.predecessor).toBe(hashOf(active));
    expect(ports.state?.sessions[names.mrenclaves]).toBe(hashOf(cli.store.get(names.mrenclaves) ?? ""));
  });

  test("a refused create fails the run naming the CLI's answer; the state keeps the sessions done", async () => {
    const cli = new ScriptedCli();
    const ports = driverPorts(cli);
    const inner = cli.run.bind(cli);
    let creates = 0;
    cli.run = async (argv, env, files) =>
      argv[1] === "create" && ++creates === 2
        ? { exitCode: 1, stdout: "", stderr: "access denied by policy" }
        : inner(argv, env, files);
    await expect(provisionVault(input, ports)).rejects.toThrow(/access denied by policy/);
    expect(Object.keys(ports.state?.sessions ?? {}).length).toBe(1);
    expect(ports.applied).toEqual([]);
  });
});

describe("sessions and manifest", () => {
  test("every session parses, names match the Vault's config ids, VAULT_CA is public", () => {
    const sessions = vaultSessions({ ownerId: "42", vaultName: "v", namespace: "ns", mrenclaves: ["b".repeat(64)] });
    for (const s of sessions) expect(parseSession(s.text).name).toBe(s.name);
    const auto = parseSession(sessions.find((s) => s.name === "vault-init-auto-42")?.text ?? "");
    expect(auto.secrets.find((x) => x.name === "VAULT_CA")?.exportPublic).toBe(true);
    expect(sessions.map((s) => s.name)).toContain("vault-42");
  });

  test("a vault name or namespace with YAML in it is refused, naming it; the sessions are built, not pasted", () => {
    const base = { ownerId: "42", vaultName: "v", namespace: "ns", mrenclaves: ["b".repeat(64)] };
    expect(() => vaultSessions({ ...base, vaultName: 'v.x:1"\n    VAULT_DEV: "1' })).toThrow(/for vault NAME: /);
    expect(() => vaultSessions({ ...base, namespace: "ns\nservices: []" })).toThrow(/for --namespace: /);
    expect(() => vaultSessions({ ...base, mrenclaves: ["b".repeat(63)] })).toThrow(/MRENCLAVE/);
    expect(() => vaultFlags({ name: "V\nx: y" })).toThrow(/invalid value "V\\nx: y" for vault NAME/);
    const vault = parseSession(vaultSessions(base).find((s) => s.name === "vault-42")?.text ?? "");
    expect(vault.name).toBe("vault-42");
  });

  test("a -f manifest gets its variables as values: a value with YAML in it adds no key", () => {
    const m = manifestWithVariables("kind: Vault\nmetadata:\n  name: $VAULT_NAME\n", { VAULT_NAME: "v\n  labels: {}" });
    expect(m).toEqual({ kind: "Vault", metadata: { name: "v\n  labels: {}" } });
    expect(() => manifestWithVariables("- a\n", {})).toThrow("-f: expected one YAML mapping");
  });

  test("the manifest is upstream's template, valid as a Vault", () => {
    const m = vaultManifest({
      vaultName: "v",
      namespace: "ns",
      imageRepo: "r/vault",
      imageTag: "6.0.0",
      casAddress: "cas.ns",
      ownerId: "42",
    });
    expect(validate("Vault", m)).toEqual([]);
    expect(m).toMatchObject({
      spec: { server: { extraEnvironmentVars: { OWNER_ID: "42", SCONE_CAS_ADDR: "cas.ns" } } },
    });
  });

  test("substitution fills $VAR and the braced form, leaves $(VAR) and unknown names", () => {
    const braced = ["$", "{B}"].join("");
    expect(substituteVariables(`a: "$A" b: ${braced} c: $(A) d: $UNKNOWN`, { A: "1", B: "2" })).toBe(
      'a: "1" b: 2 c: $(A) d: $UNKNOWN',
    );
  });

  test("OWNER_ID is $RANDOM$RANDOM", () => {
    const values = [7, 32767];
    expect(newOwnerId(() => values.shift() ?? 0)).toBe("732767");
    expect(newOwnerId()).toMatch(/^\d{2,10}$/);
  });

  test("CAS readiness reason is undefined for a healthy CAS", () => {
    expect(casNotReadyReason("ns/cas", HEALTHY)).toBeUndefined();
    expect(casNotReadyReason("ns/cas", undefined)).toContain("no status yet");
  });
});

describe("CLI flags", () => {
  test("--cas NAME[.NS], defaulting to cas in the vault's namespace", () => {
    expect(parseCasFlag(undefined, "ns")).toEqual({ name: "cas", namespace: "ns" });
    expect(parseCasFlag("mycas.scone-system", "ns")).toEqual({ name: "mycas", namespace: "scone-system" });
    expect(() => parseCasFlag("Bad_Name", "ns")).toThrow(/--cas/);
  });

  test("defaults and checks", () => {
    const f = vaultFlags({ name: "v", namespace: "ns", target: "/t" });
    expect(f).toMatchObject({
      target: "/t",
      imageRepo: "registry.scontain.com/scone.cloud/vault",
      cas: { name: "cas", namespace: "ns" },
    });
    expect(() => vaultFlags({})).toThrow(/missing vault NAME/);
    expect(() => vaultFlags({ name: "v", mrenclave: "xyz" })).toThrow(/--mrenclave/);
  });

  test("--cas-address is refused, naming why (the CAS driver gives the address)", () => {
    expect(vaultModeChecks({ name: "v", "cas-address": "https://localhost:8081" })).toMatch(
      /^--cas-address is refused: .*sconecli pod.*--scone-cli/,
    );
    expect(vaultModeChecks({ name: "v" })).toBeUndefined();
  });
});
