import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TOKEN_SCOPE_NAMES } from "../../../src/cli/commands/api.ts";
import { type CliIo, runCli } from "../../../src/cli/main.ts";
import { renderTokenList } from "../../../src/cli/run/api-tokens.ts";
import { parseResourceRef, renderHistory } from "../../../src/cli/run/history.ts";
import { recordReconcile } from "../../../src/store/history.ts";
import { openStore } from "../../../src/store/open.ts";
import { TOKEN_SCOPES } from "../../../src/store/schema.ts";

const dirs: string[] = [];
function stateDir(): string {
  const d = mkdtempSync(join(tmpdir(), "scone-cli-store-"));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Runs the CLI and captures what commands write to process.stdout / the CLI's own stderr. */
async function cli(argv: string[]) {
  let stdout = "";
  let stderr = "";
  const original = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
  process.stdout.write = ((c: string | Uint8Array) => {
    stdout += String(c);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => {
    stderr += String(c);
    return true;
  }) as typeof process.stderr.write;
  const io: CliIo = {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env: {},
    stdoutIsTTY: false,
    argv0: "scone",
  };
  try {
    const code = await runCli(argv, io);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = original.out;
    process.stderr.write = original.err;
  }
}

const KINDS = [
  { kind: "CAS", plural: "cas", singular: "cas" },
  { kind: "SGXPlugin", plural: "sgxplugins", singular: "sgxplugin", shortNames: ["sgxp"] },
];

describe("parseResourceRef", () => {
  test("kind by name, plural, singular or short name, any case; optional name", () => {
    expect(parseResourceRef("cas/mycas", KINDS)).toEqual({ kind: "CAS", name: "mycas" });
    expect(parseResourceRef("CAS", KINDS)).toEqual({ kind: "CAS" });
    expect(parseResourceRef("sgxplugins/p", KINDS)).toEqual({ kind: "SGXPlugin", name: "p" });
    expect(parseResourceRef("SGXP", KINDS)).toEqual({ kind: "SGXPlugin" });
  });
  test("bad references name the fix", () => {
    expect(() => parseResourceRef("foo/x", KINDS)).toThrow("unknown kind 'foo': expected one of cas, sgxplugin");
    expect(() => parseResourceRef("cas/", KINDS)).toThrow("expected KIND or KIND/NAME");
    expect(() => parseResourceRef("cas/a/b", KINDS)).toThrow("expected KIND or KIND/NAME");
  });
});

describe("rendering", () => {
  const base = { id: "tk-1", prefix: "scone_abcd", createdAt: 0, expiresAt: null, revokedAt: null, lastUsedAt: null };
  test("token list: state column from revocation and expiry", () => {
    const text = renderTokenList(
      [
        { ...base, name: "a", scope: "read" },
        { ...base, name: "b", scope: "admin", revokedAt: 5 },
        { ...base, name: "c", scope: "operate", expiresAt: 10 },
      ],
      "text",
      100,
    );
    const lines = text.trim().split("\n");
    expect(lines[0]).toMatch(/^NAME +SCOPE +PREFIX +STATE +CREATED +EXPIRES +LAST USED$/);
    expect(lines[1]).toMatch(/^a +read +scone_abcd… +active +1970-01-01 00:00:00Z +- +-$/);
    expect(lines[2]).toContain("revoked");
    expect(lines[3]).toContain("expired");
    expect(JSON.parse(renderTokenList([{ ...base, name: "a", scope: "read" }], "json", 1))[0].state).toBe("active");
  });
  test("history: cluster-scoped objects without namespace, actions joined", () => {
    const row = {
      id: 1,
      kind: "LAS",
      namespace: "",
      name: "las",
      generation: 1,
      resourceVersion: null,
      startedAt: 0,
      durationMs: 7,
      result: "success" as const,
      actions: ["apply DaemonSet las", "patch status"],
      error: null,
      trigger: "watch",
    };
    expect(renderHistory([row], "text")).toContain(
      "LAS    las      success   7ms        watch     apply DaemonSet las; patch status",
    );
    expect(renderHistory([], "text")).toBe("No reconciles recorded.\n");
  });
  test("the CLI's token scopes are the store's", () => {
    expect([...TOKEN_SCOPE_NAMES]).toEqual([...TOKEN_SCOPES]);
  });
});

describe("scone api token (on a real store)", () => {
  test("create prints the token once, list never shows it, revoke marks it", async () => {
    const dir = stateDir();
    const created = await cli([
      "api",
      "token",
      "create",
      "ci",
      "--scope",
      "operate",
      "--ttl",
      "1d",
      "--state-dir",
      dir,
    ]);
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    expect(token).toMatch(/^scone_[a-z2-7]+$/);
    expect(created.stderr).toContain("created 'ci' (scope operate");
    expect(created.stderr).not.toContain(token);

    const listed = await cli(["api", "token", "list", "--state-dir", dir, "-o", "json"]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).not.toContain(token);
    expect(JSON.parse(listed.stdout)).toMatchObject([{ name: "ci", scope: "operate", state: "active" }]);
    // -o yaml serializes the same object as -o json.
    const asYaml = await cli(["api", "token", "list", "--state-dir", dir, "-o", "yaml"]);
    expect(asYaml.code).toBe(0);
    expect(Bun.YAML.parse(asYaml.stdout)).toEqual(JSON.parse(listed.stdout));

    expect((await cli(["api", "token", "create", "ci", "--state-dir", dir])).stderr).toContain("already exists");
    expect((await cli(["api", "token", "revoke", "ci", "--state-dir", dir])).code).toBe(0);
    const after = await cli(["api", "token", "list", "--state-dir", dir]);
    expect(after.stdout).toMatch(/ci +operate +scone_\w{4}… +revoked/);
    const missing = await cli(["api", "token", "revoke", "nope", "--state-dir", dir]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("scone api token revoke: no token named 'nope'");
  });

  test("bad --ttl and --scope are refused before the store is touched", async () => {
    expect((await cli(["api", "token", "create", "x", "--ttl", "soon"])).stderr).toContain(
      "--ttl: expected a duration",
    );
    expect((await cli(["api", "token", "create", "x", "--scope", "root"])).stderr).toContain(
      "expected one of read, operate, admin",
    );
  });
});

describe("scone operator history (on a real store)", () => {
  test("lists recorded reconciles, filtered by kind/name and namespace", async () => {
    const dir = stateDir();
    const store = openStore({ stateDir: dir });
    const row = { generation: 1, resourceVersion: "1", durationMs: 5, error: null, trigger: "watch", actions: [] };
    recordReconcile(store.db, { ...row, kind: "CAS", namespace: "a", name: "c1", startedAt: 1000, result: "success" });
    recordReconcile(store.db, { ...row, kind: "CAS", namespace: "b", name: "c2", startedAt: 2000, result: "error" });
    recordReconcile(store.db, { ...row, kind: "LAS", namespace: "", name: "las", startedAt: 3000, result: "success" });
    store.close();

    const all = await cli(["operator", "history", "--state-dir", dir, "-o", "json"]);
    expect(all.code).toBe(0);
    expect(JSON.parse(all.stdout).map((r: { name: string }) => r.name)).toEqual(["las", "c2", "c1"]);
    const cas = await cli(["operator", "history", "cas", "-n", "b", "--state-dir", dir, "-o", "json"]);
    expect(JSON.parse(cas.stdout).map((r: { name: string }) => r.name)).toEqual(["c2"]);
    const one = await cli(["operator", "history", "CAS/c1", "--limit", "1", "--state-dir", dir]);
    expect(one.stdout).toMatch(/CAS +a\/c1 +success/);
  });

  test("a state directory without a store is reported, not created", async () => {
    const dir = join(stateDir(), "none");
    const r = await cli(["operator", "history", "--state-dir", dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no operator history:");
    expect(r.stderr).toContain("Pass --state-dir DIR");
  });

  test("--state-dir (a store) with --kubeconfig (a cluster) is refused, naming both", async () => {
    const r = await cli(["operator", "history", "--state-dir", stateDir(), "--kubeconfig", "/nonexistent"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("--state-dir reads a state store and --kubeconfig a cluster");
  });

  test("without --state-dir it reads the cluster; an unreachable one is reported with both ways out", async () => {
    const r = await cli(["operator", "history", "--kubeconfig", join(stateDir(), "no-such-kubeconfig")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("cannot read the reconcile history from the cluster");
    expect(r.stderr).toContain("--state-dir DIR");
  });
});
