import { describe, expect, test } from "bun:test";
import { parseSession } from "../../../../src/cas/session.ts";
import { parseCasFlag, vaultFlags } from "../../../../src/cli/run/vault.ts";
import {
  type ProvisionState,
  provisionVault,
  SessionExistsError,
  type VaultProvisionPorts,
} from "../../../../src/operator/vault/provision.ts";
import {
  casNotReadyReason,
  manifestWithVariables,
  newOwnerId,
  substituteVariables,
  vaultManifest,
  vaultSessionNames,
  vaultSessions,
} from "../../../../src/operator/vault/sessions.ts";
import { validate } from "../../../../src/resources/validation.ts";

const HEALTHY = { provisioned: "Yes", phase: "HEALTHY", state: "HEALTHY", migrationNodeAlert: 0 };
const input = {
  vaultName: "v",
  namespace: "ns",
  casName: "cas",
  casNamespace: "ns",
  mrenclaves: ["a".repeat(64)],
  manifest: (ownerId: string) => ({ kind: "Vault", ownerId }),
};

class FakePorts implements VaultProvisionPorts {
  state: ProvisionState | undefined;
  readonly created: string[] = [];
  readonly applied: Record<string, unknown>[] = [];
  existing = new Set<string>();
  failAt: string | undefined;
  cas: Awaited<ReturnType<VaultProvisionPorts["casStatus"]>> = HEALTHY;
  async casStatus() {
    return this.cas;
  }
  async createSession(text: string) {
    const name = parseSession(text).name;
    if (name === this.failAt) throw new Error(`CAS unreachable creating ${name}`);
    if (this.existing.has(name)) throw new SessionExistsError(`session ${name} already exists`);
    this.existing.add(name);
    this.created.push(name);
    return { hash: `h-${name}` };
  }
  async sessionHash(name: string) {
    return `h-${name}`;
  }
  async applyVault(m: Record<string, unknown>) {
    this.applied.push(m);
  }
  async loadState() {
    return this.state;
  }
  async saveState(s: ProvisionState) {
    this.state = s;
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
    expect(ports.created).toEqual([]);
    expect(ports.state).toBeUndefined();
  });

  test("uploads every session once, then applies the Vault with the same OWNER_ID", async () => {
    const ports = new FakePorts();
    const result = await provisionVault(input, ports);
    const names = vaultSessionNames(result.ownerId);
    expect(ports.created).toEqual([names.mrenclaves, names.initParent, names.initAuto, names.vault, names.verifier]);
    expect(ports.applied).toEqual([{ kind: "Vault", ownerId: result.ownerId }]);
    expect(ports.state?.ownerId).toBe(result.ownerId);
    expect(result.resumed).toBe(false);
  });

  test("a run that died mid-way resumes: same OWNER_ID, no session uploaded twice, one found existing", async () => {
    const ports = new FakePorts();
    await provisionVault(input, ports);
    // Simulate a crash after the third upload was done but not recorded.
    const ownerId = ports.state?.ownerId ?? "";
    const names = vaultSessionNames(ownerId);
    ports.state = {
      vault: "v",
      namespace: "ns",
      ownerId,
      sessions: { [names.mrenclaves]: "h1", [names.initParent]: "h2" },
    };
    ports.created.length = 0;
    ports.existing = new Set([names.mrenclaves, names.initParent, names.initAuto]);
    const again = await provisionVault(input, ports);
    expect(again.resumed).toBe(true);
    expect(again.ownerId).toBe(ownerId);
    expect(ports.created).toEqual([names.vault, names.verifier]);
    expect(again.sessions.find((s) => s.name === names.initAuto)).toEqual({
      name: names.initAuto,
      hash: `h-${names.initAuto}`,
      created: false,
    });
  });

  test("a failed upload keeps what was done; the rerun continues there", async () => {
    const fresh = new FakePorts();
    // The third upload fails, whatever the OWNER_ID: its name is known once the state exists.
    fresh.saveState = async (s) => {
      fresh.state = s;
      fresh.failAt = vaultSessionNames(s.ownerId).initAuto;
    };
    await expect(provisionVault(input, fresh)).rejects.toThrow(/CAS unreachable/);
    expect(Object.keys(fresh.state?.sessions ?? {}).length).toBe(2);
    fresh.saveState = async (s) => {
      fresh.state = s;
    };
    fresh.failAt = undefined;
    await provisionVault(input, fresh);
    expect(fresh.created.length).toBe(5);
    expect(fresh.applied.length).toBe(1);
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
    const f = vaultFlags({ name: "v", namespace: "ns", target: "/t" }, {});
    expect(f).toMatchObject({
      configPath: "/t/config.json",
      imageRepo: "registry.scontain.com/scone.cloud/vault",
      cas: { name: "cas", namespace: "ns" },
    });
    expect(vaultFlags({ name: "v", target: "/t" }, { SCONE_CLI_CONFIG: "/c.json" }).configPath).toBe("/c.json");
    expect(() => vaultFlags({}, {})).toThrow(/missing vault NAME/);
    expect(() => vaultFlags({ name: "v", mrenclave: "xyz" }, {})).toThrow(/--mrenclave/);
  });
});
