// Flags every command accepts (where they make sense), and the value checks shared by several commands.

import { parseCliNodeSelector } from "../cas/driver/node-selector.ts";
import { LOG_LEVELS } from "../log.ts";
import { casName, dnsLabel, grammarProblem, imagePrefix, sconeVersion } from "../resources/grammar.ts";
import { durationProblem } from "./duration.ts";
import type { FlagValues, SconeArgDef, SconeArgsDef } from "./spec.ts";

export const OUTPUT_FORMATS = ["text", "json", "yaml"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export const GLOBAL_ARGS = {
  kubeconfig: {
    type: "string",
    description: "Path to the kubeconfig file (default: $KUBECONFIG, ~/.kube/config)",
    valueHint: "FILE",
  },
  context: { type: "string", description: "Kubeconfig context to use", valueHint: "NAME" },
  namespace: {
    type: "string",
    alias: "n",
    description: "Kubernetes namespace",
    valueHint: "NS",
    check: checkNamespace,
    complete: "namespace",
  },
  "state-dir": {
    type: "string",
    description: "State directory (default: $SCONE_STATE_DIR, else ~/.local/state/scone; operator: /var/lib/scone)",
    valueHint: "DIR",
  },
  "log-level": {
    type: "enum",
    options: [...LOG_LEVELS],
    description: "Log verbosity on stderr (or SCONE_LOG_LEVEL)",
  },
  output: { type: "enum", alias: "o", options: [...OUTPUT_FORMATS], description: "Output format" },
  "scone-cli": {
    type: "string",
    valueHint: "PATH",
    description:
      "Run this local SCONE CLI (reaching CAS by port-forward) instead of the sconecli pod of the CAS (upstream: --no-docker)",
  },
  "cli-node-selector": {
    type: "string",
    valueHint: "KEY=VALUE[,KEY=VALUE…]",
    description:
      "Nodes a CAS's sconecli pod is created on (default: any node); a running pod of the CAS is used wherever it runs",
    check: (value: string) => checkCliNodeSelector(value),
  },
} satisfies SconeArgsDef;

/** Upstream's `--no-docker` (as `docker: false`): the local SCONE CLI instead of the sconecli pod (cas-driver.ts). */
export const DOCKER_ARG = {
  type: "boolean",
  default: true,
  description: "Upstream: run the SCONE CLI in docker",
  negativeDescription:
    "Use the local SCONE CLI (/opt/scone/bin/rust-cli, or scone on PATH) instead of the sconecli pod",
} satisfies SconeArgDef;

export type GlobalFlag = keyof typeof GLOBAL_ARGS;
/** The flags of a command that reaches a CAS through casDriverSource() (src/cas/driver/source.ts). */
export const CAS_DRIVER_GLOBALS = ["scone-cli", "cli-node-selector"] as const satisfies readonly GlobalFlag[];
/**
 * Globals a command gets unless it lists its own. Not CAS_DRIVER_GLOBALS: only a command that reaches a CAS through
 * casDriverSource() lists them, so everywhere else they are refused as unknown.
 */
export const ALL_GLOBALS = (Object.keys(GLOBAL_ARGS) as GlobalFlag[]).filter(
  (g) => !(CAS_DRIVER_GLOBALS as readonly string[]).includes(g),
);
/** Commands that do not talk to a cluster. */
export const LOCAL_GLOBALS: readonly GlobalFlag[] = ["state-dir", "log-level", "output"];

/** The global flags a command accepts, picked from GLOBAL_ARGS. */
export function pickGlobals(names: readonly string[]): SconeArgsDef {
  const out: SconeArgsDef = {};
  for (const name of names) {
    const def = (GLOBAL_ARGS as SconeArgsDef)[name];
    if (def) out[name] = def;
  }
  return out;
}

/** Where `scone operator install` and `scone manifests` place the pods, and LAS's DCAP key: one definition, one meaning. */
export const INSTALL_PLACEMENT_ARGS = {
  "node-selector": {
    type: "string",
    valueHint: "'KEY: \"VALUE\"'",
    description: "Node selector of the SGX plugin (as upstream; also KEY=VALUE,KEY2=VALUE2)",
  },
  "operator-node-selector": {
    type: "string",
    valueHint: "'KEY: \"VALUE\"'",
    description: "Node selector of the operator pods (upstream chart value nodeSelector; also KEY=VALUE,KEY2=VALUE2)",
  },
  // Rendered into the operator's own --cli-node-selector.
  "cli-node-selector": {
    type: "string",
    valueHint: "KEY=VALUE[,KEY=VALUE…]",
    description:
      "Nodes the operator creates the CASes' sconecli pods on (its --cli-node-selector; default: --operator-node-selector)",
    check: checkCliNodeSelector,
  },
  "dcap-api": { type: "string", alias: "d", valueHint: "KEY", description: "Intel DCAP/PCS API key for LAS" },
} as const satisfies SconeArgsDef;

// ---- value checks (return a message naming the fix, or undefined) ----

export function checkCliNodeSelector(value: string): string | undefined {
  const r = parseCliNodeSelector(value);
  return "problem" in r ? r.problem : undefined;
}

export function checkPort(flag: string): (value: string) => string | undefined {
  return (value) => {
    const n = Number(value);
    return /^\d+$/.test(value) && n >= 1 && n <= 65535
      ? undefined
      : `invalid value '${value}' for --${flag}: expected a port number between 1 and 65535`;
  };
}

export function checkHex32(flag: string): (value: string) => string | undefined {
  return (value) =>
    /^[0-9a-fA-F]{32}$/.test(value)
      ? undefined
      : `invalid value '${value}' for --${flag}: expected exactly 32 hexadecimal characters (e.g. from 'openssl rand -hex 16')`;
}

export function checkPositiveInt(flag: string): (value: string) => string | undefined {
  return (value) =>
    /^\d+$/.test(value) && Number(value) > 0
      ? undefined
      : `invalid value '${value}' for --${flag}: expected a positive whole number`;
}

/** The value names an existing regular file (checked early so the error names the flag, not an errno). */
export function checkFile(flag: string): (value: string) => string | undefined {
  return (value) => {
    try {
      // node:fs on demand: loading it costs ≈1 ms of every `scone` start, and only a file flag needs it.
      const { statSync } = require("node:fs") as typeof import("node:fs");
      if (statSync(value).isFile()) return undefined;
      return `invalid value '${value}' for --${flag}: not a regular file`;
    } catch {
      return `invalid value '${value}' for --${flag}: no such file`;
    }
  };
}

export { parseDuration } from "./duration.ts";

/** A duration flag (see duration.ts): `90s`, `5m`, `1h30m`, `500ms`, `30d`, or a bare number of seconds. */
export function checkDuration(flag: string): (value: string) => string | undefined {
  return (value) => durationProblem(flag, value);
}

/** `--timeout`: one spelling, one meaning (a duration) on every command that waits. */
export function timeoutArg(description: string): SconeArgDef {
  return { type: "string", valueHint: "DURATION", description, check: checkDuration("timeout") };
}

// The value grammars are src/resources/grammar.ts's (the same checks as install options and API parameters); these
// wrap them as flag checks.

/** SCONE versions look like 6.0.6 or 7.0.0-alpha.2 (no build metadata: the version is an image tag). */
export function checkVersion(flag: string): (value: string) => string | undefined {
  return (value) => grammarProblem(`--${flag}`, value, sconeVersion);
}

/** An image name prefix as a registry path allows it: "osc-", "scone/", "team/pfx-". */
export function checkImagePrefix(flag: string): (value: string) => string | undefined {
  return (value) => grammarProblem(`--${flag}`, value, imagePrefix);
}

/** A DNS-1123 label (namespaces, CAS names). */
export function dnsLabelProblem(value: string, maxLength = 63): string | undefined {
  return dnsLabel(maxLength)(value);
}

export function checkNamespace(value: string): string | undefined {
  const problem = dnsLabelProblem(value);
  return problem ? `invalid value '${value}' for --namespace: ${problem}` : undefined;
}

export { CAS_NAME_MAX } from "../resources/grammar.ts";
export function casNameProblem(name: string): string | undefined {
  const problem = casName(name);
  return problem ? `invalid CAS name '${name}': ${problem}` : undefined;
}

/** Flags that must be given together (all or none). */
export function together(values: FlagValues, flags: readonly string[]): string | undefined {
  const given = flags.filter((f) => values[f] !== undefined && values[f] !== "");
  if (given.length === 0 || given.length === flags.length) return undefined;
  const missing = flags.filter((f) => !given.includes(f));
  return `${flags.map((f) => `--${f}`).join(", ")} must be given together (missing ${missing.map((f) => `--${f}`).join(", ")})`;
}

/** `flag` is only allowed when `needed` is given. */
export function requires(values: FlagValues, flag: string, needed: string): string | undefined {
  const set = (f: string) => values[f] !== undefined && values[f] !== false;
  return set(flag) && !set(needed) ? `--${flag} can only be used with --${needed}` : undefined;
}

export function exclusive(values: FlagValues, flags: readonly string[]): string | undefined {
  const given = flags.filter((f) => values[f] !== undefined && values[f] !== false);
  return given.length > 1 ? `${given.map((f) => `--${f}`).join(" and ")} cannot be used together` : undefined;
}
