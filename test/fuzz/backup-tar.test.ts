// Property-based tests of the tar reader (the stream comes from `tar -cf -` in a CAS pod: outside input) and of its
// counterpart, the writer used by restore. Fixed seed and a bounded count for `make test`; SCONE_FUZZ_RUNS /
// SCONE_FUZZ_SEED for a longer run.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { readTar } from "../../src/backup/tar.ts";
import { writeTar } from "../../src/flows/restore/tar-writer.ts";
import { fuzzParams } from "./parser-runs.ts";

const settings = fuzzParams();

const fileName = fc
  .string({ minLength: 1, maxLength: 40, unit: "grapheme-ascii" })
  .filter((n) => !n.includes("/") && !n.includes("\0") && n !== "." && !n.startsWith("./"));
const file = fc.record({
  name: fileName,
  data: fc.uint8Array({ maxLength: 1500 }),
  mtime: fc.integer({ min: 0, max: 2 ** 33 - 1 }),
});
const archive = fc.array(file, { maxLength: 4 }).map((files) => ({ files, bytes: writeTar(files) }));

/** readTar's only way to fail: an Error whose message starts "tar:". */
function readOrTarError(bytes: Uint8Array): ReturnType<typeof readTar> | undefined {
  try {
    return readTar(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toStartWith("tar: ");
    return undefined;
  }
}

describe("tar streams (property-based)", () => {
  test("what the writer writes, the reader reads back: names, bytes and times", () => {
    fc.assert(
      fc.property(archive, ({ files, bytes }) => {
        const entries = readTar(bytes);
        expect(entries.map((e) => e.name)).toEqual(files.map((f) => f.name));
        expect(entries.map((e) => [...e.data])).toEqual(files.map((f) => [...f.data]));
        expect(entries.map((e) => e.mtime)).toEqual(files.map((f) => f.mtime));
      }),
      settings,
    );
  });

  test("arbitrary bytes are read or refused with a tar: error, never anything else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
        const entries = readOrTarError(bytes);
        for (const e of entries ?? []) expect(e.data.length).toBeLessThanOrEqual(bytes.length);
      }),
      settings,
    );
  });

  test("a valid archive with bytes changed or cut off: read or refused, entries always within the stream", () => {
    const damage = fc.record({
      flips: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 6 }),
      cut: fc.option(fc.nat(), { nil: undefined }),
    });
    fc.assert(
      fc.property(archive, damage, ({ bytes }, { flips, cut }) => {
        const damaged = bytes.slice(0, cut === undefined ? bytes.length : cut % (bytes.length + 1));
        for (const { at, value } of flips) if (damaged.length > 0) damaged[at % damaged.length] = value;
        const entries = readOrTarError(damaged);
        let total = 0;
        for (const e of entries ?? []) total += e.data.length;
        expect(total).toBeLessThanOrEqual(damaged.length);
      }),
      settings,
    );
  });

  test("a header whose checksum does not match is refused", () => {
    fc.assert(
      fc.property(
        archive.filter(({ files }) => files.length > 0),
        fc.integer({ min: 0, max: 511 }),
        ({ bytes }, at) => {
          fc.pre(at < 148 || at >= 156); // the checksum field itself
          const damaged = bytes.slice();
          damaged[at] = ((damaged[at] ?? 0) + 1) % 256;
          expect(() => readTar(damaged)).toThrow("tar: header at byte 0 has a wrong checksum");
        },
      ),
      settings,
    );
  });
});
