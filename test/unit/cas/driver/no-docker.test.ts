import { describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { localSconeCli, UPSTREAM_CLI_PATH } from "../../../../src/cas/driver/cli-path.ts";

const exe = (path: string) => {
  writeFileSync(path, "#!/bin/sh\n");
  chmodSync(path, 0o755);
};
const none = (p: string) => (p === UPSTREAM_CLI_PATH ? "no such file" : undefined);

describe("--no-docker: the local SCONE CLI", () => {
  test("/opt/scone/bin/rust-cli first, as upstream's image installs it", () => {
    expect(localSconeCli("/usr/bin", "/x/scone", () => undefined)).toBe(UPSTREAM_CLI_PATH);
  });

  test("else scone on PATH — but never this program itself, which is also called scone", () => {
    const root = mkdtempSync(join(tmpdir(), "no-docker-"));
    const self = join(root, "self");
    const other = join(root, "other");
    mkdirSync(self);
    mkdirSync(other);
    exe(join(self, "scone-binary"));
    symlinkSync(join(self, "scone-binary"), join(self, "scone"));
    exe(join(other, "scone"));
    expect(localSconeCli(`${self}:${other}`, join(self, "scone-binary"), none)).toBe(join(other, "scone"));
    expect(localSconeCli(self, join(self, "scone-binary"), none)).toBeUndefined();
  });

  test("nothing found: undefined, so the command refuses the flag", () => {
    expect(localSconeCli("", "/x/scone", none)).toBeUndefined();
  });
});
