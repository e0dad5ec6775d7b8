import { describe, expect, test } from "bun:test";
import {
  provisionCommand,
  UPSTREAM_STD_TOLERATIONS,
  UPSTREAM_TOLERATIONS,
  verifierFlags,
} from "../../../../src/cas/driver/commands.ts";
import { TolerationsError, verifiersWithTolerations } from "../../../../src/cas/driver/tolerations.ts";
import { provisionOptionsFromFlags } from "../../../../src/flows/provision/options.ts";

describe("--set-tolerations", () => {
  test("upstream's default words give exactly upstream's two sets", () => {
    const sets = verifiersWithTolerations(
      "--accept-configuration-needed --accept-group-out-of-date --accept-sw-hardening-needed",
    );
    expect(sets.map(verifierFlags)).toEqual([UPSTREAM_TOLERATIONS, UPSTREAM_STD_TOLERATIONS].map(verifierFlags));
  });

  test("fewer tolerances: only those flags, the signer part of both sets unchanged", () => {
    const [db, std] = verifiersWithTolerations("--accept-group-out-of-date");
    const argv = (v: typeof db) =>
      provisionCommand({
        address: "cas.ns.svc:8081",
        casKeyHash: "46YyxrywJ8PFRruWX8YLxa9q4axxYJgTbA81tv7NBcJfn43DQt",
        token: "0123456789abcdef0123456789abcdef",
        ownerConfigToml: "",
        verifier: v as NonNullable<typeof v>,
      }).argv.filter((a): a is string => typeof a === "string");
    const dbArgv = argv(db);
    expect(dbArgv).toContain("--accept-group-out-of-date");
    expect(dbArgv).not.toContain("--accept-configuration-needed");
    expect(dbArgv).not.toContain("--accept-sw-hardening-needed");
    expect(dbArgv.join(" ")).toContain(`--mrsigner ${UPSTREAM_TOLERATIONS.mrsigner}`);
    expect(argv(std).join(" ")).toContain(`--mrsigner ${UPSTREAM_STD_TOLERATIONS.mrsigner}`);
  });

  test("an empty value tolerates nothing", () => {
    const [db] = verifiersWithTolerations("  ");
    expect(verifierFlags(db as NonNullable<typeof db>).filter((f) => f.startsWith("--accept"))).toEqual([]);
  });

  test("anything but a tolerance flag is refused, naming the word and the allowed flags", () => {
    expect(() => verifiersWithTolerations("--only_for_testing-ignore-signer")).toThrow(TolerationsError);
    expect(() => verifiersWithTolerations("--accept-group-out-of-date --mrsigner 00")).toThrow(
      /'--mrsigner' is not a tolerance flag; use any of --accept-group-out-of-date/,
    );
  });

  test("the provision options carry the sets, or refuse the flag naming it", () => {
    const o = provisionOptionsFromFlags({ name: "cas", "set-tolerations": "--accept-sw-hardening-needed" }, {});
    expect(o.verifiers?.length).toBe(2);
    expect(() => provisionOptionsFromFlags({ name: "cas", "set-tolerations": "--trust-any" }, {})).toThrow(
      /--set-tolerations: '--trust-any'/,
    );
  });
});

describe("--verify-image-signatures", () => {
  test("is refused, not ignored: scone operator install verifies the signatures, not provisioning", () => {
    expect(() => provisionOptionsFromFlags({ name: "cas", "verify-image-signatures": "cosign.pub" }, {})).toThrow(
      /--verify-image-signatures is refused here: scone verifies the images' signatures in 'scone operator install/,
    );
  });
});
