// The simulators' backup-registration node label against the provider's documented example (SCONE-STACK.md
// "Moving CAS off a node"), not against scone's code: scone moves a CAS only to nodes carrying exactly this label.
import { describe, expect, test } from "bun:test";
import { backupRegistrationLabel } from "../../../../sim/kwok-cas/registration.ts";

describe("backup registration label", () => {
  test("cas-registered-<cas name>.<cas namespace>-<SCONE version>, as the provider's example", () => {
    expect(backupRegistrationLabel("osc-scone-system", "cas", "5.8.0")).toBe(
      "cas-registered-cas.osc-scone-system-5.8.0",
    );
  });
});
