import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseValuesSelector } from "../../../../sim/cas/api.ts";
import { ArgsError, parseArgs, parseDuration } from "../../../../sim/cas/args.ts";
import { allowedBy, parseOwnerConfig } from "../../../../sim/cas/core.ts";
import { consoleValue } from "../../../../sim/cas/launch.ts";
import { resolveSecrets } from "../../../../sim/cas/secrets.ts";
import { LAST_COMPLETED, Snapshotter } from "../../../../sim/cas/snapshots.ts";
import { DataDir, decryptDb, emptyDb, encryptDb } from "../../../../sim/cas/store.ts";

const dir = mkdtempSync(join(tmpdir(), "scone-cas-sim-unit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("access policies", () => {
  test("CREATOR, ANY, NONE and key hashes", () => {
    expect(allowedBy(["CREATOR"], ["k1"], ["k1"])).toBe(true);
    expect(allowedBy(["CREATOR"], ["k2"], ["k1"])).toBe(false);
    expect(allowedBy(["ANY"], [], ["k1"])).toBe(true);
    expect(allowedBy(["NONE"], ["k1"], ["k1"])).toBe(false);
    expect(allowedBy(["NONE", "k2"], ["k2"], ["k1"])).toBe(true);
    expect(allowedBy([], ["k1"], ["k1"])).toBe(false);
    expect(allowedBy(["signer:not a pem"], ["k1"], ["k1"])).toBe(false);
  });
});

describe("owner config", () => {
  test("audit_log.mode defaults to signed; bad values and bad TOML are refused naming the field", () => {
    expect(parseOwnerConfig('[api_identity]\ncommon_name = "cas"\nalt_names = ["cas.ns"]\n')).toEqual({
      auditMode: "signed",
      auditSink: "file",
      auditUrl: undefined,
      auditServerCa: undefined,
      apiNames: ["cas", "cas.ns"],
    });
    expect(parseOwnerConfig('[audit_log]\nmode = "disabled"\n')).toMatchObject({ auditMode: "disabled" });
    expect(parseOwnerConfig('[audit_log]\nsink = "network"\n')).toContain("audit_log.url is required");
    expect(parseOwnerConfig("[api_identity]\nalt_names = [1]\n")).toContain("alt_names");
    expect(parseOwnerConfig('[audit_log]\nmode = "loud"\n')).toContain("audit_log.mode");
    expect(parseOwnerConfig('[audit_log]\nsink = "pigeon"\n')).toContain("audit_log.sink");
    expect(parseOwnerConfig("[[[")).toContain("not valid TOML");
  });
});

describe("values selector", () => {
  test("session and optional secret, namespaces kept", () => {
    expect(parseValuesSelector("session=ns/app,secret=tok")).toEqual({ session: "ns/app", secret: "tok" });
    expect(parseValuesSelector("session=app")).toEqual({ session: "app", secret: undefined });
    expect(parseValuesSelector("secret=tok")).toBeUndefined();
    expect(parseValuesSelector("session=a,other=b")).toBeUndefined();
  });
});

describe("arguments", () => {
  test("durations and listen addresses", () => {
    expect(parseDuration("60s", "--x")).toBe(60_000);
    expect(parseDuration("500ms", "--x")).toBe(500);
    expect(parseDuration("5m", "--x")).toBe(300_000);
    expect(() => parseDuration("soon", "--snapshot-interval")).toThrow("--snapshot-interval");
    const args = parseArgs(["--data-dir", "/d", "--listen=[::1]:0", "--san", "a", "--san", "b", "--audit-stdout"]);
    expect(args.listen).toEqual({ host: "::1", port: 0 });
    expect(args.sans).toEqual(["a", "b"]);
    expect(args.auditStdout).toBe(true);
    expect(args.snapshotIntervalMs).toBe(60_000);
    expect(args.version).toBe("6.0.6");
  });

  test("refuses unknown flags, a missing data dir and a non-loopback admin port", () => {
    expect(() => parseArgs(["--data-dir", "/d", "--bogus"])).toThrow(ArgsError);
    expect(() => parseArgs([])).toThrow("--data-dir: required");
    expect(() => parseArgs(["--data-dir", "/d", "--admin-listen", "0.0.0.0:1"])).toThrow("loopback");
  });

  test("console values are the last field of the labelled line", () => {
    const lines = ["CAS software key hash S", "[x] CAS key hash  K1 ", "CAS provisioning token T"];
    expect(consoleValue(lines, "CAS key hash")).toBe("K1");
    expect(consoleValue(lines, "nothing")).toBeUndefined();
  });
});

describe("secrets", () => {
  test("explicit values win, same-kind values survive updates, kind changes regenerate", async () => {
    const first = await resolveSecrets(
      [
        { name: "a", kind: "ascii", size: 10, exportPublic: false },
        { name: "b", kind: "ascii", value: "42", exportPublic: true },
      ],
      {},
    );
    expect(first.a?.value).toMatch(/^[A-Za-z0-9]{10}$/);
    expect(first.b?.value).toBe("42");
    const second = await resolveSecrets([{ name: "a", kind: "ascii", size: 10, exportPublic: false }], first);
    expect(second.a).toEqual(first.a!);
    const third = await resolveSecrets([{ name: "a", kind: "binary", size: 4, exportPublic: false }], first);
    expect(Buffer.from(third.a?.value ?? "", "base64").length).toBe(4);
    await expect(resolveSecrets([{ name: "c", kind: "aad-token", exportPublic: false }], {})).rejects.toThrow(
      "explicit value",
    );
  });
});

describe("database files", () => {
  test("cas.db is encrypted under the key store's key; another key cannot read it", () => {
    const db = emptyDb();
    const key = "11".repeat(32);
    const text = encryptDb(db, key);
    expect(text).not.toContain(db.provisioning_token ?? "never");
    expect(decryptDb(text, key)).toEqual(db);
    expect(() => decryptDb(text, "22".repeat(32))).toThrow("cannot be decrypted");
  });

  test("a snapshot placed for recovery replaces the database on start", () => {
    const data = new DataDir(join(dir, "recovery"));
    writeFileSync(join(data.dir, "last-snapshot-db"), "db");
    writeFileSync(join(data.dir, "last-snapshot-cas.key-store"), "keys");
    expect(data.applyRecovery()).toBe(true);
    expect(readFileSync(data.dbPath, "utf8")).toBe("db");
    expect(data.applyRecovery()).toBe(false);
  });
});

describe("snapshots", () => {
  test("only when cas.db changed; last-completed follows the newest", () => {
    const data = new DataDir(join(dir, "data"));
    const target = join(dir, "snapshots");
    const snapshotter = new Snapshotter(data.dir, target);
    expect(snapshotter.status).toEqual({ lastSnapshotAt: null, lastCheckupAt: null });
    expect(snapshotter.takeIfChanged(new Date(0)).taken).toBe(false); // no database yet
    expect(snapshotter.status).toEqual({ lastSnapshotAt: null, lastCheckupAt: new Date(0).toISOString() });
    writeFileSync(data.keyStorePath, "keys");
    writeFileSync(data.dbPath, "v1");
    const first = snapshotter.takeIfChanged(new Date(0));
    expect(first.taken).toBe(true);
    expect(snapshotter.takeIfChanged().taken).toBe(false);
    writeFileSync(data.dbPath, "v2");
    const second = snapshotter.takeIfChanged(new Date(1000));
    expect(second.taken).toBe(true);
    expect(readlinkSync(join(target, LAST_COMPLETED))).toBe(second.dir?.split("/").at(-1) ?? "");
    expect(readFileSync(join(target, LAST_COMPLETED, "cas.db"), "utf8")).toBe("v2");
    expect(readFileSync(join(first.dir ?? "", "cas.db"), "utf8")).toBe("v1");
    expect(readFileSync(join(target, LAST_COMPLETED, "cas.key-store"), "utf8")).toBe("keys");
    expect(snapshotter.status.lastSnapshotAt).toBe(new Date(1000).toISOString());
    writeFileSync(data.keyStorePath, "keys2");
    expect(snapshotter.takeIfChanged().taken).toBe(true); // a changed key store alone is worth a snapshot
    expect(new Snapshotter(data.dir, target).status.lastSnapshotAt).not.toBeNull(); // known again after a restart
  });
});
