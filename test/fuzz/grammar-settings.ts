// Fast-check settings of the grammar property tests, through parser-runs.ts (one place for SCONE_FUZZ_RUNS and
// SCONE_FUZZ_SEED), and the hostile strings they draw from.
import fc, { type Parameters } from "fast-check";
import { DEFAULT_RUNS, fuzzParams } from "./parser-runs.ts";

/** `defaultRuns`: the cases a property gets in `make test` (fewer for the slow ones); parser-runs.ts reads the env. */
export const fuzzParameters = <T>(defaultRuns = 300): Parameters<T> => fuzzParams<T>(defaultRuns / DEFAULT_RUNS);

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
