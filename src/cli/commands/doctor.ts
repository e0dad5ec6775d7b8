// `scone doctor`: checks a cluster the way the SCONE troubleshooting guide walks through it (src/flows/doctor).
import { command, lazyRun } from "../define.ts";
import { timeoutArg } from "../globals.ts";

export const doctorCommand = command({
  meta: {
    name: "doctor",
    description: "Check the cluster for what keeps SCONE from working and say what to do (exit 1 on a failed check)",
  },
  args: {
    "pull-image": {
      type: "string",
      valueHint: "IMAGE",
      description:
        "Image the pull-check pods pull with each pull secret (default: the sconecli image of the bundled SCONE version)",
      check: (v) =>
        /^[a-z0-9][^\s]*$/.test(v)
          ? undefined
          : `invalid value '${v}' for --pull-image: expected an image reference such as registry.example.com/scone/sconecli:6.0.6`,
    },
    "pull-check": {
      type: "boolean",
      default: true,
      description: "Run a pull-check pod per pull secret",
      negativeDescription: "Only read the pull secrets; start no pod",
    },
    "pull-check-node": {
      type: "string",
      valueHint: "NODE",
      description: "Run the pull-check pods on this node (default: where the scheduler puts them)",
      check: (v) =>
        v.length <= 253 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(v)
          ? undefined
          : `invalid value '${v}' for --pull-check-node: expected a node name (lower-case letters, digits, '-' and '.')`,
    },
    timeout: timeoutArg("How long each pull-check pod may take to get an answer from the registry (default 2m)"),
  },
  globals: ["kubeconfig", "context", "namespace", "output"],
  checks: (v) =>
    v["pull-check"] === false && (v["pull-image"] !== undefined || v["pull-check-node"] !== undefined)
      ? "--pull-image and --pull-check-node choose what the pull-check pods do, and --no-pull-check starts none: leave one of them out"
      : undefined,
  notes: [
    "Checks: pull secrets scone-operator-pull and sconeapps (a pod pulls --pull-image with each, imagePullPolicy " +
      "Always, and the registry's answer is read from its status and Events: 401 = expired or wrong token, 403 = " +
      "user without access); the admission webhooks (configurations, caBundle, the serving certificate, and a " +
      "dry-run create the API server sends through them); the CRDs' versions; the operator Deployment Ready and " +
      "holding the leader Lease; the operator's RBAC (a SelfSubjectRulesReview made with a short-lived token of its " +
      "ServiceAccount); SGX nodes labelled sgx.intel.com/capable and advertising sgx.intel.com/enclave; LAS per node " +
      "(a /dev/sgx_enclave permission error is recognised from the pod's status, Events and log); clock skew " +
      "(node heartbeats against this machine's clock); each CAS's state, phase and reason.",
    "-n: the operator's namespace (default scone-system). Output: a table, or -o json|yaml {findings, summary}. " +
      "Exit 0 when no check failed (warnings allowed), 1 otherwise. Details: docs/doctor.md.",
    "Example: scone doctor -n scone-system --timeout 5m",
  ],
  run: lazyRun(() => import("../run/doctor.ts")),
});
