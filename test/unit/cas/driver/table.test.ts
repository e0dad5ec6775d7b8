// The interaction table is complete (every operation the driver can build has a row) and honest (an inferred row
// says what is inferred; a row without interface says what scone does instead), and the README shows it as it is.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ERROR_CODES, type OperationName } from "../../../../src/cas/driver/commands.ts";
import { CAS_INTERACTIONS, renderInteractionTable } from "../../../../src/cas/driver/table.ts";

describe("CAS interaction table", () => {
  test("every operation of commands.ts is in a row, and every row's operations exist", () => {
    const inTable = new Set(CAS_INTERACTIONS.flatMap((r) => r.operations));
    const built = Object.keys(ERROR_CODES) as OperationName[];
    expect(built.filter((op) => !inTable.has(op))).toEqual([]);
    expect([...inTable].filter((op) => !built.includes(op))).toEqual([]);
  });

  test("ids are unique; inferred rows say what, rows without interface say the decision; every row has a source", () => {
    const ids = CAS_INTERACTIONS.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of CAS_INTERACTIONS) {
      expect(r.source.length).toBeGreaterThan(0);
      expect(r.how).not.toContain("`");
      if (r.status === "inferred") expect(r.inferred?.length ?? 0).toBeGreaterThan(0);
      if (r.status === "none") {
        expect(r.decision?.length ?? 0).toBeGreaterThan(0);
        expect(r.operations).toEqual([]);
      }
    }
  });

  for (const readme of ["sim/scone-cli/README.md", "sim/README.md"]) {
    test(`${readme} carries the rendered table (cell padding aside: biome formats markdown)`, () => {
      const text = readFileSync(join(import.meta.dir, "../../../..", readme), "utf8");
      const rows = (md: string) =>
        md
          .split("\n")
          .filter((l) => l.startsWith("|") && !/^\|[\s|:-]+\|$/.test(l))
          .map((l) => l.split(/(?<!\\)\|/).map((c) => c.trim()));
      const start = text.indexOf("## Every CAS interaction");
      expect(start).toBeGreaterThanOrEqual(0);
      const section = text.slice(start);
      expect(rows(section)).toEqual(rows(renderInteractionTable()));
      expect(rows(section).length).toBe(CAS_INTERACTIONS.length + 1);
    });
  }

  test("a pipe in a cell is escaped, so a row keeps its six columns", () => {
    const row = renderInteractionTable([
      { id: "x", need: "a|b", how: "c", operations: [], source: "s", status: "documented" },
    ]).split("\n")[2]!;
    expect(row).toBe("| x | a\\|b | `c` | — | s | documented |");
  });

  test("the status cell: a CLI-version note on a documented row, OPEN on an inferred row still called", () => {
    const [documented, open] = renderInteractionTable([
      { id: "d", need: "n", how: "h", operations: ["key_hash"], source: "s", status: "documented", cliVersion: "v" },
      {
        id: "i",
        need: "n",
        how: "h",
        operations: [],
        callers: ["src/a.ts"],
        source: "s",
        status: "inferred",
        inferred: "g",
        open: "o",
      },
    ])
      .split("\n")
      .slice(2);
    expect(documented).toBe("| d | n | `h` | CasDriver.keyHash | s | documented; CLI version: v |");
    expect(open).toBe("| i | n | `h` | src/a.ts | s | inferred: g; OPEN (still called): o |");
  });
});
