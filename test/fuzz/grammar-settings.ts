// Fast-check settings of the grammar property tests: a fixed seed and a bounded number of runs, so `make test` is
// repeatable and quick; SCONE_FUZZ_RUNS and SCONE_FUZZ_SEED run more cases or other ones (a failure prints its seed
// and path, which fast-check replays).
import fc from "fast-check";

/** `defaultRuns`: the cases a property gets in `make test` (fewer for the slow ones); SCONE_FUZZ_RUNS overrides. */
export function fuzzParameters(defaultRuns = 300): { seed: number; numRuns: number } {
  const runs = Number(process.env.SCONE_FUZZ_RUNS ?? defaultRuns);
  const seed = Number(process.env.SCONE_FUZZ_SEED ?? 20261207);
  return {
    seed: Number.isInteger(seed) ? seed : 20261207,
    numRuns: Number.isInteger(runs) && runs > 0 ? runs : defaultRuns,
  };
}

/** Pieces that mean something to YAML, TOML, shells or URLs, and a few variables of the templates. */
const HOSTILE = [
  "\n",
  "\r\n",
  "\r",
  "\t",
  " ",
  ": ",
  "- ",
  "#",
  "{",
  "}",
  "[",
  "]",
  ",",
  "&a ",
  "*a",
  "!!str ",
  "'",
  '"',
  "|",
  ">-",
  "---",
  "...",
  "? ",
  "%YAML",
  "@",
  "`",
  "\\",
  "$NAME",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: envsubst's braced variable, not a template
  "${IMAGE}",
  "$NAMESPACE",
  "\u0000",
  "\u007f",
  "\u0085",
  "\u2028",
  "\ufeff",
  "tolerations:",
  "  privileged: true",
  "~",
  "null",
  "true",
  "0x1F",
  "/",
  ":",
  "..",
  ".",
];

/** Any string, leaning towards the characters that break pasted text. */
export const hostileString = fc
  .array(fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ unit: "binary", maxLength: 8 })), { maxLength: 12 })
  .map((parts) => parts.join(""));
