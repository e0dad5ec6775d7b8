// Child process for crash-safety.test.ts: writes to the store given as argv[2] until it is killed. Each
// transaction creates an operation and runs it through two steps to success (four writes, each its own commit
// with a version check), and inserts a backup row with 64 KiB of params in the same transaction as the final write;
// after each commit it prints the number of finished operations, so the parent knows what must have survived.

import { openStore } from "../../../src/store/open.ts";
import { completeStep, createOperation, finishOperation, startStep } from "../../../src/store/operations.ts";

const stateDir = process.argv[2];
if (!stateDir) throw new Error("usage: write-forever.ts <state-dir>");
const store = openStore({ stateDir });
const padding = "x".repeat(64 * 1024);
for (let i = 0; ; i++) {
  let op = createOperation(store.db, {
    kind: "backup",
    namespace: "ns",
    name: `cas-${i}`,
    params: { note: padding },
    createdBy: "crash-test",
  });
  for (const step of ["snapshot", "upload"]) {
    op = startStep(store.db, op.id, { step, version: op.version });
    op = completeStep(store.db, op.id, { step, version: op.version });
  }
  finishOperation(store.db, op.id, { phase: "succeeded", version: op.version, result: { i } });
  process.stdout.write(`${i + 1}\n`);
}
