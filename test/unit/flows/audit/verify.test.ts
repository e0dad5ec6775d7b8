// The verdict of `scone cas audit` is the SCONE CLI's (issue 13): the log text goes to `cas verify-audit-log` as an
// input file (SCONE-CLI §4), with the CAS it must come from, and the exit code maps to its documented meaning (§5).
import { describe, expect, test } from "bun:test";
import type { CliArg, CliInputFile } from "../../../../src/cas/driver/commands.ts";
import { CasDriver } from "../../../../src/cas/driver/driver.ts";
import type { CasDriverSource, CliIdentity } from "../../../../src/cas/driver/reach.ts";
import type { CliRunner, CliRunResult } from "../../../../src/cas/driver/runner.ts";
import {
  AuditLogTooLarge,
  describeVerdict,
  MAX_VERDICT_DETAILS,
  MAX_VERIFIED_LOG_BYTES,
  verifyAuditText,
} from "../../../../src/flows/audit/verify.ts";

const ADDRESS = "cas.ns1.svc:8081";
const CAS = { namespace: "ns1", name: "cas" };
const LOG = '{"seq":0,"event":"audit_log_enabled"}\n{"seq":1,"event":"session_read"}\n';

interface Call {
  readonly argv: readonly CliArg[];
  readonly files: readonly CliInputFile[];
}

/** A source whose CLI answers every call with `answer`, recording the calls, identities and releases. */
function scripted(answer: CliRunResult | Error) {
  const calls: Call[] = [];
  const identities: CliIdentity[] = [];
  let released = 0;
  const runner: CliRunner = {
    description: "scripted",
    async run(argv, _env, files) {
      calls.push({ argv, files });
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
  const source: CasDriverSource = {
    description: "scripted CLI",
    async connect(_cas, identity) {
      identities.push(identity);
      return {
        driver: new CasDriver(runner),
        address: ADDRESS,
        release: async () => {
          released++;
        },
      };
    },
  };
  return { source, calls, identities, released: () => released };
}

describe("verifyAuditText: the SCONE CLI's verdict on the log", () => {
  test("argv is `cas verify-audit-log --cas <addr> <log file>`, the log shipped as the file, last (CLI §4)", async () => {
    const s = scripted({ exitCode: 0, stdout: "", stderr: "audit log: 2 entries (seq 0..1): fully correct\n" });
    await verifyAuditText(s.source, CAS, LOG);
    expect(s.calls).toHaveLength(1);
    expect(s.calls[0]?.argv).toEqual(["cas", "verify-audit-log", "--cas", ADDRESS, { inputFile: "audit.log" }]);
    expect(s.calls[0]?.files).toEqual([{ name: "audit.log", content: LOG }]);
    // No anchors (their encoding is inferred: table.ts audit-verify-anchored) and no key hash scone would guess.
    const words = s.calls[0]?.argv.filter((a) => typeof a === "string");
    for (const flag of ["--predecessor", "--last", "--cas-key-hash", "--print-log"]) expect(words).not.toContain(flag);
    // Verifying changes nothing in CAS: the operator's identity, never the owner's.
    expect(s.identities).toEqual([{ kind: "operator" }]);
    expect(s.released()).toBe(1);
  });

  const documented: [number, string, boolean][] = [
    [0, "fully correct", true],
    [10, "correct, but a single failed transaction was rolled back", true],
    [14, "truncated: recent entries missing", false],
    [15, "truncated: older entries missing", false],
    [16, "rollback cannot be ruled out (includes an unreachable CAS)", false],
    [17, "rollback or missing/deleted entries", false],
    [18, "rollback detected", false],
    [19, "the log does not come from the selected CAS", false],
    [20, "authenticity or integrity violation", false],
  ];
  for (const [code, meaning, correct] of documented) {
    test(`exit ${code} is the verdict "${meaning}" (correct: ${correct}), with the CLI's details`, async () => {
      const s = scripted({ exitCode: code, stdout: "", stderr: `  [${code}] why\n` });
      const v = await verifyAuditText(s.source, CAS, LOG);
      expect(v).toEqual({ exitCode: code, meaning, correct, details: `[${code}] why`, by: "scripted CLI" });
      expect(describeVerdict(v)).toBe(`audit log verification by scripted CLI: exit ${code}, ${meaning}`);
    });
  }

  test("another exit code is no verdict: the CLI could not verify", async () => {
    const s = scripted({ exitCode: 1, stdout: "", stderr: "error: no audit key to verify with\n" });
    const v = await verifyAuditText(s.source, CAS, LOG);
    expect(v).toMatchObject({
      exitCode: 1,
      meaning: null,
      correct: false,
      details: "error: no audit key to verify with",
    });
    expect(describeVerdict(v)).toContain("exit 1, the SCONE CLI could not verify the log");
  });

  test("the details are bounded", async () => {
    const s = scripted({ exitCode: 20, stdout: "", stderr: "x".repeat(200_000) });
    const v = await verifyAuditText(s.source, CAS, LOG);
    expect(v.details.length).toBeLessThanOrEqual(MAX_VERDICT_DETAILS + 10);
    expect(v.details).toEndWith("… (cut)");
  });

  test("a log over the bound is not verified at all (no verdict on a part), and no CLI runs", async () => {
    const s = scripted({ exitCode: 0, stdout: "", stderr: "" });
    const big = `${"y".repeat(1024)}\n`.repeat(MAX_VERIFIED_LOG_BYTES / 1024);
    await expect(verifyAuditText(s.source, CAS, big)).rejects.toBeInstanceOf(AuditLogTooLarge);
    expect(s.calls).toEqual([]);
  });

  test("the connection is released when the CLI cannot run", async () => {
    const s = scripted(new Error("exec failed"));
    await expect(verifyAuditText(s.source, CAS, LOG)).rejects.toThrow("exec failed");
    expect(s.released()).toBe(1);
  });
});
