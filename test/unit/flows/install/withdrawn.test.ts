// withdrawnObjects: what a reinstall with fewer optional parts removes, with the flags that would keep it.
import { describe, expect, test } from "bun:test";
import { desiredInstall } from "../../../../src/flows/install/desired.ts";
import { installOptionsFromFlags } from "../../../../src/flows/install/options.ts";
import { withdrawnObjects } from "../../../../src/flows/install/withdrawn.ts";
import {
  API_DEPLOYMENT_NAME,
  API_REVIEW_ROLE_BINDING_NAME,
  API_REVIEW_ROLE_NAME,
  installClusterName,
} from "../../../../src/install/names.ts";

const NS = "scone-system";
const named = (flags: Record<string, unknown>) => {
  const o = installOptionsFromFlags({ namespace: NS, ...flags });
  const desired = desiredInstall(o).items.map((d) => d.object);
  return withdrawnObjects(o, desired).map((w) => ({ what: `${w.ref.kind}/${w.ref.name}`, reason: w.reason }));
};

describe("withdrawnObjects", () => {
  test("without --with-api and --metrics-secure the token-review rights go, naming both flags", () => {
    const w = named({});
    const reviews = "installed only with --with-api or --metrics-secure, not given now: removed";
    expect(w).toContainEqual({
      what: `ClusterRole/${installClusterName(API_REVIEW_ROLE_NAME, NS)}`,
      reason: reviews,
    });
    expect(w).toContainEqual({
      what: `ClusterRoleBinding/${installClusterName(API_REVIEW_ROLE_BINDING_NAME, NS)}`,
      reason: reviews,
    });
    expect(w).toContainEqual({
      what: `Deployment/${API_DEPLOYMENT_NAME}`,
      reason: "installed only with --with-api, not given now: removed",
    });
    expect(w.some((x) => x.reason.includes("--monitoring"))).toBe(true);
    // Namespaces and claims hold what users put there: never withdrawn.
    expect(w.some((x) => x.what.startsWith("Namespace/") || x.what.startsWith("PersistentVolumeClaim/"))).toBe(false);
  });

  test("with --metrics-secure the review rights stay; the API's objects still go", () => {
    const w = named({ "metrics-secure": true });
    expect(w.some((x) => x.what.includes(API_REVIEW_ROLE_NAME))).toBe(false);
    expect(w.map((x) => x.what)).toContain(`Deployment/${API_DEPLOYMENT_NAME}`);
  });

  test("nothing is withdrawn when every optional part is given", () => {
    expect(named({ "with-api": true, "metrics-secure": true, monitoring: true })).toEqual([]);
  });

  test("--local-operator leaves the Deployment's parts alone (the user may go back to it); monitoring's still go", () => {
    const w = named({ "local-operator": "127.0.0.1:9443" });
    expect(w.some((x) => x.reason.includes("--with-api") || x.reason.includes("--metrics-secure"))).toBe(false);
    expect(w.length).toBeGreaterThan(0);
    expect(w.every((x) => x.reason === "installed only with --monitoring, not given now: removed")).toBe(true);
  });
});
