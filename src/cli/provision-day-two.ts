// `scone cas provision NAME --upgrade VER | --local-backup | --cas-database-recovery DIR` (and the same through the
// kubectl-provision name): upstream's plugin does its day-2 operations under the provisioning command; scone has
// a command and a flow for each (`scone cas upgrade`, `scone cas backup`, `scone cas restore`). This module maps the
// provisioning flags onto that command's flags — pure, no I/O — and refuses every flag the operation would not use,
// naming it and the fix, so nothing given is silently dropped.
import { join, resolve } from "node:path";
import { CliError, EXIT_USAGE } from "./spec.ts";

export const DAY_TWO_MODES = ["upgrade", "local-backup", "cas-database-recovery"] as const;
export type DayTwoMode = (typeof DAY_TWO_MODES)[number];

export function isDayTwoMode(mode: string): mode is DayTwoMode {
  return (DAY_TWO_MODES as readonly string[]).includes(mode);
}

/** The scone command that does each mode's work. */
export const DAY_TWO_COMMAND = {
  upgrade: "upgrade",
  "local-backup": "backup",
  "cas-database-recovery": "restore",
} as const satisfies Record<DayTwoMode, string>;

/** Upstream's --local-backup directory, below the working directory (§10.1). */
export const LOCAL_BACKUP_DIR = "cas-database-snapshots";

/** Flags every mode takes: NAME, verbosity and the global flags (kubeconfig, namespace, state dir, output). */
const COMMON = ["name", "verbose", "debug", "kubeconfig", "context", "namespace", "state-dir", "log-level", "output"];

/** Further flags of `scone cas provision` each mode uses. */
const USED: Record<DayTwoMode, readonly string[]> = {
  // --set-version: upstream's precondition that it names the version the CAS runs now (checked before the upgrade).
  // --wait: the upgrade always waits for HEALTHY.
  upgrade: ["upgrade", "force", "timeout", "wait", "set-version"],
  "local-backup": ["local-backup"],
  // --wait: the recovery always waits for HEALTHY.
  "cas-database-recovery": [
    "cas-database-recovery",
    "set-version",
    "image-registry",
    "image-prefix",
    "timeout",
    "wait",
  ],
};

/** Boolean flags that are on by default: given only when turned off (--no-backup, --no-image-signature-check). */
const DEFAULT_ON = new Set(["backup", "image-signature-check", "docker"]);

/** Flags the guide's lines pass along with a day-2 mode: accepted, and the note says why they change nothing. */
const EXPLAINED: Record<string, (mode: DayTwoMode) => string> = {
  "dcap-api": (mode) =>
    mode === "cas-database-recovery"
      ? "--dcap-api is not used by --cas-database-recovery: the new CAS is not provisioned again, it starts on the snapshot's database and keeps the configuration the original CAS was provisioned with"
      : `--dcap-api is not used by --${mode}: the CAS keeps the configuration it was provisioned with`,
  // scone never needs docker; said once by the flag's own note (cas.ts) for every mode.
  docker: () => "",
};

/** Why a flag is refused with a mode, with the fix. */
function refusal(mode: DayTwoMode, flag: string): string {
  const spelled = DEFAULT_ON.has(flag) ? `--no-${flag}` : `--${flag}`;
  if (mode === "upgrade" && flag === "target") {
    return "--target is used by scone's upgrade only together with the new backup controller's MRENCLAVE: run scone cas upgrade NAME -n NS --to-version VERSION --backup-mrenclave HEX --target DIR";
  }
  if (mode === "upgrade" && (flag === "image-registry" || flag === "image-prefix")) {
    return `${spelled} cannot be used with --upgrade: the upgrade keeps the registry and prefix of the CAS's current image; drop it`;
  }
  return `${spelled} cannot be used with --${mode}: it applies to provisioning a CAS; drop it`;
}

/** Does `mode` use `flag`? The kubectl-provision name turns upstream's variables into flags only then. */
export function dayTwoUses(mode: DayTwoMode, flag: string): boolean {
  return COMMON.includes(flag) || USED[mode].includes(flag);
}

function given(flag: string, value: unknown): boolean {
  if (value === undefined || value === "") return false;
  return DEFAULT_ON.has(flag) ? value === false : value !== false;
}

export interface DayTwoPlan {
  readonly command: (typeof DAY_TWO_COMMAND)[DayTwoMode];
  /** The flags of that command. */
  readonly args: Record<string, string | boolean>;
  /** Notes for stderr: flags accepted that change nothing, and why. */
  readonly notes: string[];
  /** --upgrade with --set-version: the version the CAS must run now (upstream's precondition). */
  readonly expectVersion?: string;
}

/**
 * The command and flags that do what `mode` asks. Throws CliError (exit 2) naming every flag the mode does not
 * use and the fix; nothing has been done then.
 */
export function dayTwoPlan(
  mode: DayTwoMode,
  flags: Readonly<Record<string, unknown>>,
  context: {
    readonly cwd: string /** The flags of `scone cas provision` (the parser's values hold aliases too). */;
    readonly known: readonly string[];
  },
): DayTwoPlan {
  const { cwd } = context;
  const refused: string[] = [];
  const notes: string[] = [];
  for (const flag of context.known) {
    if (!given(flag, flags[flag]) || COMMON.includes(flag) || USED[mode].includes(flag)) continue;
    const explain = EXPLAINED[flag];
    if (!explain) refused.push(refusal(mode, flag));
    else if (explain(mode)) notes.push(explain(mode));
  }
  if (refused.length > 0) throw new CliError(refused.join("\n"), EXIT_USAGE);

  const pass = (...names: string[]): Record<string, string | boolean> => {
    const out: Record<string, string | boolean> = {};
    for (const name of [...COMMON, ...names]) {
      const value = flags[name];
      if ((typeof value === "string" && value !== "") || typeof value === "boolean") out[name] = value;
    }
    return out;
  };
  const str = (name: string): string | undefined => {
    const value = flags[name];
    return typeof value === "string" && value !== "" ? value : undefined;
  };
  switch (mode) {
    case "upgrade": {
      const expectVersion = str("set-version");
      return {
        command: DAY_TWO_COMMAND.upgrade,
        args: { ...pass("force", "timeout"), "to-version": str("upgrade") ?? "" },
        notes,
        ...(expectVersion ? { expectVersion } : {}),
      };
    }
    case "local-backup":
      return { command: DAY_TWO_COMMAND["local-backup"], args: { ...pass(), to: join(cwd, LOCAL_BACKUP_DIR) }, notes };
    case "cas-database-recovery":
      return {
        command: DAY_TWO_COMMAND["cas-database-recovery"],
        args: {
          ...pass("set-version", "image-registry", "image-prefix", "timeout"),
          from: resolve(cwd, str("cas-database-recovery") ?? ""),
        },
        notes,
      };
  }
}

/**
 * Upstream's --upgrade precondition on --set-version: it names the version the CAS runs now (the tag of its image).
 * The problem, with the fix, or undefined when it holds.
 */
export function setVersionProblem(
  expected: string,
  cas: { readonly namespace: string; readonly name: string; readonly imageTag: string | undefined },
): string | undefined {
  if (cas.imageTag === expected) return undefined;
  const runs = cas.imageTag ? `runs ${cas.imageTag}` : "has an image without a version tag";
  return `--set-version ${expected} is not the version CAS ${cas.namespace}/${cas.name} runs (it ${runs}): with --upgrade, --set-version names the current version; give ${cas.imageTag ? `--set-version ${cas.imageTag}` : "no --set-version"} or leave it out`;
}
