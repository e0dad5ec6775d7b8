// Where the state database lives: --state-dir flag > SCONE_STATE_DIR > a per-mode default.
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";

export type StateDirMode = "cli" | "operator" | "api";

/** The volume path of the operator's pod. */
export const OPERATOR_STATE_DIR = "/var/lib/scone";

export interface ResolveStateDirOptions {
  flag?: string;
  mode: StateDirMode;
  /** Injected for tests; defaults to process.env. */
  env?: Record<string, string | undefined>;
  /** Injected for tests; defaults to os.homedir(). */
  home?: string;
}

export function resolveStateDir({ flag, mode, env = process.env, home }: ResolveStateDirOptions): string {
  if (flag !== undefined) {
    if (flag.trim() === "") throw new Error("--state-dir must not be empty; give a directory path or omit the flag");
    return resolve(flag);
  }
  const fromEnv = env.SCONE_STATE_DIR;
  if (fromEnv !== undefined && fromEnv.trim() !== "") return resolve(fromEnv);
  if (mode === "operator") return OPERATOR_STATE_DIR;
  // The XDG base-directory spec says relative values are invalid and must be ignored.
  const xdg = env.XDG_STATE_HOME;
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, "scone");
  return join(home ?? homedir(), ".local", "state", "scone");
}
