// Files that may hold secrets are written through a temp file created exclusively with mode 0600 and a random
// name. Each writer scone had is checked against a symlink planted at the temp name it used to predict
// (`<file>.tmp-<pid>`, `<file>.<pid>.tmp`): the link's target must stay untouched.
import { afterAll, describe, expect, test } from "bun:test";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeBootstrapToken } from "../../../src/api/bootstrap-token.ts";
import { writePrivateFile as writeProvisionFile } from "../../../src/flows/provision/files.ts";
import { Journal } from "../../../src/flows/steps.ts";
import { privateTempPath, writePrivateFile, writePrivateFileSync } from "../../../src/runtime/private-file.ts";
import { openStore } from "../../../src/store/open.ts";
import { writeCliConfig } from "../../support/cas-legacy/identity.ts";

const root = mkdtempSync(join(tmpdir(), "scone-private-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => {
  const d = join(root, `d${++n}`);
  mkdirSync(d, { mode: 0o700 });
  return d;
};

/** A victim file and symlinks to it at every temp name scone used to predict for `path`. */
function plantLinks(path: string): string {
  const victim = join(root, `victim-${++n}`);
  writeFileSync(victim, "untouched");
  for (const name of [`${path}.tmp-${process.pid}`, `${path}.${process.pid}.tmp`]) symlinkSync(victim, name);
  return victim;
}

describe("writePrivateFile", () => {
  test("writes 0600 in a new 0700 directory and leaves no temp file", async () => {
    const dir = join(freshDir(), "new");
    await writePrivateFile(join(dir, "a.json"), "A");
    expect(() => writePrivateFileSync(join(dir, "missing", "c.json"), "C")).toThrow(/ENOENT/);
    writePrivateFileSync(join(dir, "b.json"), "B");
    expect(readFileSync(join(dir, "a.json"), "utf8")).toBe("A");
    expect(readFileSync(join(dir, "b.json"), "utf8")).toBe("B");
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, "a.json")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "b.json")).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir).sort()).toEqual(["a.json", "b.json"]);
  });

  test("temp names are unpredictable; a failed rename removes the temp file", async () => {
    const path = join(freshDir(), "x");
    expect(privateTempPath(path)).not.toBe(privateTempPath(path));
    mkdirSync(path); // a directory where the file should go: rename fails
    await expect(writePrivateFile(path, "x")).rejects.toThrow();
    expect(() => writePrivateFileSync(path, "x")).toThrow();
    expect(readdirSync(join(path, ".."))).toEqual(["x"]);
  });
});

describe("scone's secret files are not written through planted links", () => {
  test("provision target files", async () => {
    const path = join(freshDir(), "owner-identity.pem");
    const victim = plantLinks(path);
    await writeProvisionFile(path, "KEY");
    expect(readFileSync(victim, "utf8")).toBe("untouched");
    expect(readFileSync(path, "utf8")).toBe("KEY");
  });

  test("the owner's CLI config", async () => {
    const path = join(freshDir(), "config.json");
    const victim = plantLinks(path);
    await writeCliConfig(path, { identity: "PEM", cas_db: {}, session_signing_keypair_ed25519_seed: "00" });
    expect(readFileSync(victim, "utf8")).toBe("untouched");
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  test("the API bootstrap token", () => {
    const dir = freshDir();
    const store = openStore({ stateDir: join(dir, "state") });
    try {
      const path = join(dir, "token");
      const victim = plantLinks(path);
      expect(writeBootstrapToken(store.db, path)).toEqual({ written: true });
      expect(readFileSync(victim, "utf8")).toBe("untouched");
      expect(readFileSync(path, "utf8")).toMatch(/\S{20,}\n$/);
    } finally {
      store.close();
    }
  });

  test("flow journals", async () => {
    const path = join(freshDir(), "journal.json");
    const victim = plantLinks(path);
    const journal = await Journal.open(path, "provision");
    await journal.begin("step", new Date(0));
    expect(readFileSync(victim, "utf8")).toBe("untouched");
    expect(JSON.parse(readFileSync(path, "utf8")).operation).toBe("provision");
  });
});
