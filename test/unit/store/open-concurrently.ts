// Child process for migrations.test.ts: opens the store given as argv[2] and prints what it migrated.
import { openStore } from "../../../src/store/open.ts";

const stateDir = process.argv[2];
if (!stateDir) throw new Error("usage: open-concurrently.ts <state-dir>");
const store = openStore({ stateDir });
console.log(JSON.stringify(store.migrated));
store.close();
