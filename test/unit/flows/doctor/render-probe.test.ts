import { expect, test } from "bun:test";
import { doctorCommand } from "../../../../src/cli/commands/doctor.ts";
import { fail, ok, warn } from "../../../../src/flows/doctor/finding.ts";
import { pullProbePod } from "../../../../src/flows/doctor/pull-probe.ts";
import { renderDoctorText } from "../../../../src/flows/doctor/render.ts";

test("the text: a table, what to do for each warning and failure, the counts", () => {
  const text = renderDoctorText([
    ok("crd las.base.scone.cloud", "serves v1beta1"),
    warn("pull-secret sconeapps", "still pending", "raise --timeout"),
    fail("sgx node n1", "labelled but does not advertise", "check the SGX device plugin"),
  ]);
  expect(text.split("\n").slice(0, 4)).toEqual([
    "CHECK                      STATUS   MESSAGE",
    "crd las.base.scone.cloud   OK       serves v1beta1",
    "pull-secret sconeapps      WARN     still pending",
    "sgx node n1                FAIL     labelled but does not advertise",
  ]);
  expect(text).toContain(
    "What to do:\n  pull-secret sconeapps: raise --timeout\n  sgx node n1: check the SGX device plugin\n",
  );
  expect(text.trimEnd().endsWith("1 ok, 1 warnings, 1 failed")).toBe(true);
});

test("a pull-check pod pulls with only the secret under test, always from the registry, on the chosen node", () => {
  const pod = pullProbePod(
    { namespace: "scone-system", secret: "sconeapps", image: "r.example/sconecli:6.0.6", timeoutMs: 1, node: "n1" },
    "p",
  ) as { spec: Record<string, unknown> & { containers: { imagePullPolicy: string; image: string }[] } };
  expect(pod.spec.imagePullSecrets).toEqual([{ name: "sconeapps" }]);
  expect(pod.spec.nodeName).toBe("n1");
  expect(pod.spec.automountServiceAccountToken).toBe(false);
  expect(pod.spec.restartPolicy).toBe("Never");
  expect(pod.spec.containers[0]?.imagePullPolicy).toBe("Always");
  expect(pod.spec.containers[0]?.image).toBe("r.example/sconecli:6.0.6");
  const unplaced = pullProbePod({ namespace: "ns", secret: "s", image: "i", timeoutMs: 1 }, "p") as { spec: object };
  expect("nodeName" in unplaced.spec).toBe(false);
});

test("flags: --no-pull-check refuses the flags of the pods it does not start; bad values name the flag", () => {
  expect(doctorCommand.checks?.({ "pull-check": false, "pull-check-node": "n1" })).toContain("--no-pull-check");
  expect(doctorCommand.checks?.({ "pull-check": false, "pull-image": "i" })).toContain("--no-pull-check");
  expect(doctorCommand.checks?.({ "pull-check": true, "pull-check-node": "n1" })).toBeUndefined();
  expect(doctorCommand.args?.["pull-check-node"]?.check?.("Bad_Node")).toContain("--pull-check-node");
  expect(doctorCommand.args?.["pull-check-node"]?.check?.("sgx-node-1.zone")).toBeUndefined();
  expect(doctorCommand.args?.["pull-image"]?.check?.("a b")).toContain("--pull-image");
  expect(doctorCommand.args?.["pull-image"]?.check?.("127.0.0.1:5000/scone/sconecli:6.0.6")).toBeUndefined();
});
