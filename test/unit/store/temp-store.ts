// Temporary state dirs for store tests; each test gets its own. Every test file calls
// `afterEach(cleanupTempStores)` itself: a hook registered here would only apply to the first file importing this.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore, type Store } from "../../../src/store/open.ts";

const dirs: string[] = [];
const stores: Store[] = [];

/** Closes the stores and removes the dirs the finished test created. */
export function cleanupTempStores(): void {
  for (const store of stores.splice(0)) {
    try {
      store.close();
    } catch {
      // already closed by the test
    }
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "scone-store-"));
  dirs.push(dir);
  return dir;
}

/** A fresh store in a new temp dir, closed after the test. */
export function tempStore(stateDir: string = join(tempDir(), "state")): Store {
  const store = openStore({ stateDir });
  stores.push(store);
  return store;
}
