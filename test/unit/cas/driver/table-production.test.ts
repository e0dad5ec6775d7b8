// No inferred CAS interaction on a production path (issue 13): which CasDriver methods src/ calls is read from the
// source, DRIVER_OPERATIONS says which operations each runs (checked here against what the methods really run), and
// the table says which operations are inferred. Also: every driver call src/ makes has a row, a row's listed callers
// exist, and no file but those listed uses scone's own protocol modules (the old REST
// client, audit, crypto, sessions).
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { CliArg, CliCommand, OperationName } from "../../../../src/cas/driver/commands.ts";
import { CasDriver, type CasDriverMethod, DRIVER_OPERATIONS } from "../../../../src/cas/driver/driver.ts";
import type { CliRunner } from "../../../../src/cas/driver/runner.ts";
import { CAS_INTERACTIONS } from "../../../../src/cas/driver/table.ts";

const ROOT = join(import.meta.dir, "../../../..");
const METHODS = Object.keys(DRIVER_OPERATIONS) as CasDriverMethod[];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith(".ts") ? [path] : [];
  });
}

/** Production source: src/ outside the driver itself, comment lines left out. */
function productionSources(): { file: string; lines: string[] }[] {
  return sourceFiles(join(ROOT, "src"))
    .map((path) => ({ file: relative(ROOT, path), text: readFileSync(path, "utf8") }))
    .filter(({ file }) => !file.startsWith("src/cas/driver/"))
    .map(({ file, text }) => ({
      file,
      lines: text.split("\n").map((l) => (/^\s*(\/\/|\/\*|\*)/.test(l) ? "" : l)),
    }));
}

/**
 * Where src/ calls each CasDriver method (`.method(` or `?.method(`). A same-named method of another object counts
 * too: the scan errs towards "called", never towards "not called".
 */
function driverCallsIn(sources: { file: string; lines: string[] }[]): Map<CasDriverMethod, string[]> {
  const calls = new Map<CasDriverMethod, string[]>();
  for (const method of METHODS) {
    const pattern = new RegExp(`\\.\\s*${method}\\s*\\(`);
    for (const { file, lines } of sources)
      lines.forEach((line, i) => {
        if (pattern.test(line)) calls.set(method, [...(calls.get(method) ?? []), `${file}:${i + 1}`]);
      });
  }
  return calls;
}

/** For each inferred row: its operations that a method src/ calls runs, with the calls. */
function inferredOnProductionPaths(calls: Map<CasDriverMethod, string[]>): string[] {
  const found: string[] = [];
  for (const row of CAS_INTERACTIONS.filter((r) => r.status === "inferred"))
    for (const op of row.operations)
      for (const [method, where] of calls)
        if ((DRIVER_OPERATIONS[method] as readonly OperationName[]).includes(op))
          found.push(`${row.id}: ${op} via CasDriver.${method} at ${where.join(", ")}`);
  return found;
}

describe("no inferred CAS interaction on a production path", () => {
  const calls = driverCallsIn(productionSources());

  test("the scan finds the driver calls src/ is known to make", () => {
    // A scan that finds nothing would pass every check below.
    expect(calls.get("attest")?.some((w) => w.startsWith("src/flows/provision/steps.ts:"))).toBe(true);
    expect(calls.get("createSession")?.some((w) => w.startsWith("src/operator/policies/submit.ts:"))).toBe(true);
  });

  test("scone cas audit's verdict is the CLI's: audit-verify is called, audit-chain-local claims no verdict", () => {
    expect(calls.get("verifyAuditLog")?.some((w) => w.startsWith("src/flows/audit/verify.ts:"))).toBe(true);
    const local = CAS_INTERACTIONS.find((r) => r.id === "audit-chain-local");
    expect(local?.open).toBeUndefined();
    expect(local?.noVerdict).toContain("audit-verify");
  });

  test("no inferred row's operation is run by a CasDriver method src/ calls", () => {
    expect(inferredOnProductionPaths(calls)).toEqual([]);
  });

  test("a production call of an inferred operation is found", () => {
    const planted = [{ file: "src/flows/x.ts", lines: ["await driver.verifyAuditLogAnchored({ log, last });"] }];
    expect(inferredOnProductionPaths(driverCallsIn(planted))).toEqual([
      "audit-verify-anchored: verify_audit_log_anchored via CasDriver.verifyAuditLogAnchored at src/flows/x.ts:1",
    ]);
  });

  test("every operation of every CasDriver method src/ calls has a row", () => {
    const inTable = new Set(CAS_INTERACTIONS.flatMap((r) => r.operations));
    const missing = [...calls.keys()].flatMap((m) =>
      (DRIVER_OPERATIONS[m] as readonly OperationName[]).filter((op) => !inTable.has(op)).map((op) => `${m}: ${op}`),
    );
    expect(missing).toEqual([]);
  });

  test("rows outside the driver name callers that exist; an inferred row still called says what replaces it", () => {
    for (const row of CAS_INTERACTIONS) {
      for (const file of row.callers ?? []) expect(existsSync(join(ROOT, file)), `${row.id}: ${file}`).toBe(true);
      if (row.operations.length > 0) expect(row.callers, row.id).toBeUndefined();
      // Still called: either OPEN (what replaces it) or, where no decision rests on it, which row decides instead.
      if (row.status === "inferred" && (row.callers ?? []).length > 0)
        expect(Boolean(row.open) !== Boolean(row.noVerdict), row.id).toBe(true);
      if (row.open || row.noVerdict) expect(row.status, row.id).toBe("inferred");
      if (row.cliVersion) expect(row.status, row.id).toBe("documented");
    }
  });

  test("scone's own protocol modules (the old REST client, audit, crypto, sessions) are imported only where a row says", () => {
    const sources = productionSources().filter(({ file }) => !file.startsWith("src/cas/"));
    const importersOf = (module: string, among = sources) => {
      const name = module.split("/").at(-1)?.replace(".", "\\.") ?? "";
      const pattern = new RegExp(`["'](\\.\\.?/)+(.*/)?cas/${name}["']`);
      return among.filter(({ lines }) => lines.some((l) => pattern.test(l))).map(({ file }) => file);
    };
    // The scan sees static and dynamic imports (a scan that sees none would pass everything below).
    const planted = [
      { file: "src/a.ts", lines: ['import { CasClient } from "../../cas/client.ts";'] },
      { file: "src/b.ts", lines: ['  const { sealToKey } = await import("../cas/crypto.ts");'] },
    ];
    expect(importersOf("src/cas/client.ts", planted)).toEqual(["src/a.ts"]);
    expect(importersOf("src/cas/crypto.ts", planted)).toEqual(["src/b.ts"]);
    const unlisted: string[] = [];
    for (const module of new Set(CAS_INTERACTIONS.flatMap((r) => r.modules ?? []))) {
      const listed = new Set(
        CAS_INTERACTIONS.filter((r) => r.modules?.includes(module)).flatMap((r) => r.callers ?? []),
      );
      for (const file of importersOf(module)) if (!listed.has(file)) unlisted.push(`${file} imports ${module}`);
    }
    expect(unlisted).toEqual([]);
    // A row naming modules that none of its callers imports any longer is stale.
    for (const row of CAS_INTERACTIONS.filter((r) => r.modules)) {
      const used = (row.modules ?? []).some((m) => importersOf(m).some((f) => row.callers?.includes(f)));
      expect(used, row.id).toBe(true);
    }
  });
});

describe("DRIVER_OPERATIONS is what the CasDriver methods run", () => {
  const KEY = "46YyxrywJ8PFRruWX8YLxa9q4axxYJgTbA81tv7NBcJfn43DQt";
  const HASH = "a".repeat(64);
  const ADDR = "cas.ns.svc:8081";
  const target = { address: ADDR, casKey: KEY };
  const PCS = { acceptRevokedPckCerts: true };

  /** Answers each command with output its parser accepts (documented formats, CLI §5). */
  const runner: CliRunner = {
    description: "fake",
    async run(argv: readonly CliArg[]) {
      const words = argv.filter((a): a is string => typeof a === "string").join(" ");
      const stdout = words.startsWith("--version")
        ? "scone 6.0.0"
        : /^(self show-key-hash|self show-session-signing-key|cas show-identification)/.test(words)
          ? KEY
          : /^session (calculate-hash|create|update)/.test(words)
            ? HASH
            : words.startsWith("session list")
              ? "a\nb"
              : words.startsWith("cas get-audit-log-checkpoints")
                ? "{}"
                : "ok";
      return { exitCode: 0, stdout, stderr: "" };
    },
  };

  const call = {
    cliVersion: (d) => d.cliVersion(),
    keyHash: (d) => d.keyHash(),
    sessionSigningKey: (d) => d.sessionSigningKey(),
    casKeys: (d) => d.casKeys(ADDR),
    attest: (d) => d.attest({ address: ADDR, casKeyHash: KEY }, [PCS]),
    provision: (d) =>
      d.provision({ address: ADDR, casKeyHash: KEY, token: "0".repeat(32), ownerConfigToml: "" }, [PCS]),
    validateSession: (d) => d.validateSession("name: x\n"),
    sessionHash: (d) => d.sessionHash("name: x\n"),
    signSession: (d) => d.signSession("name: x\n"),
    encryptSession: (d) => d.encryptSession("name: x\n", ADDR),
    readSession: (d) => d.readSession(target, "x"),
    listSessions: (d) => d.listSessions(target, "x"),
    createSession: (d) => d.createSession(target, "name: x\n"),
    updateSession: (d) => d.updateSession(target, "name: x\n"),
    verifyAuditLog: (d) => d.verifyAuditLog({ log: "{}\n", attestation: PCS }),
    verifyAuditLogAnchored: (d) => d.verifyAuditLogAnchored({ log: "{}\n", last: "c2ln", attestation: PCS }),
    auditLogCheckpoints: (d) => d.auditLogCheckpoints({}),
  } satisfies Record<CasDriverMethod, (d: CasDriver) => Promise<unknown>>;

  for (const method of METHODS) {
    test(`${method} runs only operations DRIVER_OPERATIONS lists, its first among them`, async () => {
      const ran: OperationName[] = [];
      const driver = new CasDriver(runner);
      // Every command passes the driver's private exec: record the operation there.
      const inner = driver as unknown as { exec(cmd: CliCommand): Promise<unknown> };
      const exec = inner.exec.bind(driver);
      inner.exec = (cmd) => {
        ran.push(cmd.operation);
        return exec(cmd);
      };
      await call[method](driver);
      const listed = DRIVER_OPERATIONS[method] as readonly OperationName[];
      expect(ran.filter((op) => !listed.includes(op))).toEqual([]);
      // The version gate's `--version` goes through ok(), hence exec, too; the method's own operation is listed first.
      expect(ran).toContain(listed[0] as OperationName);
    });
  }

  test("verifyAuditLog refuses --predecessor/--last, which make it the inferred anchored operation", async () => {
    const wide: Parameters<CasDriver["verifyAuditLogAnchored"]>[0] = { log: "", predecessor: "c2ln" };
    await expect(new CasDriver(runner).verifyAuditLog(wide)).rejects.toThrow(/^predecessor: .*verifyAuditLogAnchored/);
  });
});
