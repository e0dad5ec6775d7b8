// The simulators' backup-registration annotation, checked against keys recorded once from scone's operator
// (src/operator/cas/nodes.ts, 2026-12-07) and pasted as data: scone evicts a CAS only to nodes carrying exactly
// this key, so the simulated backup controller must write it byte for byte without sharing scone's code.
import { describe, expect, test } from "bun:test";
import { backupRegistrationKey } from "../../../sim/kwok-cas/registration.ts";

describe("backup registration annotation", () => {
  test("namespace.name when it fits an annotation name", () => {
    expect(backupRegistrationKey("ns", "cas")).toBe("cas.scone.cloud/backup-registered-ns.cas");
  });

  test("a 32-hex hash of namespace/name when namespace.name is longer than 45 characters", () => {
    expect(backupRegistrationKey("a-very-long-namespace-name-xx", "a-very-long-cas-name-yyyyyyy")).toBe(
      "cas.scone.cloud/backup-registered-f6a05fe07f703173eb96647b9f102793",
    );
    const fits = `${"n".repeat(22)}.${"c".repeat(22)}`;
    expect(backupRegistrationKey("n".repeat(22), "c".repeat(22))).toBe(`cas.scone.cloud/backup-registered-${fits}`);
    expect(backupRegistrationKey("n".repeat(23), "c".repeat(22))).toMatch(/backup-registered-[0-9a-f]{32}$/);
  });
});
