// Golden YAML files of rendered objects: a rendering change shows up as a reviewed diff.
// Update after a deliberate change with: SCONE_UPDATE_GOLDEN=1 bun test test/unit/operator

import { expect } from "bun:test";
import { join } from "node:path";
import { stringify } from "yaml";

export async function expectGolden(file: string, objects: readonly unknown[]): Promise<void> {
  const path = join(import.meta.dir, file);
  const rendered = objects.map((o) => stringify(o, { aliasDuplicateObjects: false })).join("---\n");
  if (process.env.SCONE_UPDATE_GOLDEN === "1") await Bun.write(path, rendered);
  expect(rendered).toBe(await Bun.file(path).text());
}
