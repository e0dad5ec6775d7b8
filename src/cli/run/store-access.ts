// Opening the state store from a CLI command: the same directory resolution as the long-running modes, so
// `scone api token create` writes where `scone api` reads. Loaded only by commands that need the store.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { CliError } from "../spec.ts";

export type StoreMode = "api" | "operator" | "cli";

function flagValue(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** Runs `body` with an open store and closes it afterwards. `mustExist`: refuse to create an empty store. */
export async function withStore<T>(
  stateDirFlag: unknown,
  mode: StoreMode,
  body: (store: import("../../store/open.ts").Store) => T,
  mustExist?: string,
): Promise<T> {
  const { resolveStateDir } = await import("../../store/state-dir.ts");
  const { DB_FILE, openStore } = await import("../../store/open.ts");
  const stateDir = resolveStateDir({ flag: flagValue(stateDirFlag), mode });
  if (mustExist && !existsSync(join(stateDir, DB_FILE))) {
    throw new CliError(
      `${mustExist}: ${join(stateDir, DB_FILE)} does not exist`,
      1,
      "Pass --state-dir DIR (or SCONE_STATE_DIR) to read another state directory.",
    );
  }
  const store = openStore({ stateDir });
  try {
    return body(store);
  } finally {
    store.close();
  }
}

/** Store errors that are the user's input become CLI errors with the store's message. */
export function asCliError(error: unknown): never {
  if (error instanceof Error && (error.name === "StoreInputError" || error.name === "StoreConflictError")) {
    throw new CliError(error.message);
  }
  throw error;
}
