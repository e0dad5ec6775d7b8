// Properties of the grammars (src/resources/grammar.ts): what they accept is safe where it goes (an image reference,
// a DNS name, a path below its base), and what is valid by construction is accepted.
import { describe, expect, test } from "bun:test";
import { posix } from "node:path";
import fc from "fast-check";
import {
  dnsLabel,
  dnsSubdomain,
  imagePrefix,
  imageReference,
  imageRegistry,
  imageTag,
  normalizeRegistry,
  safeRelativePath,
  sconeVersion,
  shown,
} from "../../src/resources/grammar.ts";
import { fuzzParameters, hostileString } from "./grammar-settings.ts";

/** Characters an image reference may hold: nothing YAML, a shell or a URL gives a meaning to beyond these. */
const REFERENCE_CHARS = /^[A-Za-z0-9._:/@[\]-]+$/;

const alnum = fc.string({
  unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789"),
  minLength: 1,
  maxLength: 6,
});
const separator = fc.constantFrom(".", "_", "__", "-", "--");
const pathComponent = fc
  .tuple(alnum, fc.array(fc.tuple(separator, alnum), { maxLength: 2 }))
  .map(([first, rest]) => first + rest.map(([s, a]) => s + a).join(""));
const domain = fc
  .tuple(
    fc.array(alnum, { minLength: 1, maxLength: 3 }),
    fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
  )
  .map(([labels, port]) => `${labels.join(".")}${port === undefined ? "" : `:${port}`}`);
const registry = fc.tuple(domain, fc.array(pathComponent, { maxLength: 3 })).map(([d, path]) => [d, ...path].join("/"));
const prefix = fc.oneof(
  fc.constant(""),
  fc.tuple(pathComponent, fc.constantFrom("", "-", ".", "_", "/")).map(([p, sep]) => p + sep),
);
const version = fc
  .tuple(fc.nat(99), fc.nat(99), fc.nat(99), fc.option(fc.stringMatching(/^[0-9A-Za-z][0-9A-Za-z.-]{0,10}$/)))
  .map(([a, b, c, pre]) => `${a}.${b}.${c}${pre === null ? "" : `-${pre}`}`);

describe("image grammars", () => {
  test("registries, prefixes and versions built from the OCI grammar are accepted, and compose a valid reference", () => {
    fc.assert(
      fc.property(registry, prefix, version, (r, p, v) => {
        expect(imageRegistry(r)).toBeUndefined();
        expect(imageRegistry(`https://${r}/`)).toBeUndefined();
        expect(imagePrefix(p)).toBeUndefined();
        expect(sconeVersion(v)).toBeUndefined();
        expect(imageReference(`${r}/${p}cas:${v}`)).toBeUndefined();
      }),
      fuzzParameters(),
    );
  });

  test("whatever is accepted composes a valid reference of harmless characters; the rest is refused", () => {
    fc.assert(
      fc.property(hostileString, hostileString, hostileString, (r, p, v) => {
        const ok = imageRegistry(r) === undefined && imagePrefix(p) === undefined && sconeVersion(v) === undefined;
        if (!ok) return;
        const reference = `${normalizeRegistry(r)}/${p}cas:${v}`;
        expect(imageReference(reference)).toBeUndefined();
        expect(reference).toMatch(REFERENCE_CHARS);
      }),
      fuzzParameters(),
    );
  });

  test("an accepted reference, tag or version holds no character outside the reference alphabet", () => {
    fc.assert(
      fc.property(hostileString, (s) => {
        if (imageReference(s) === undefined) expect(s).toMatch(REFERENCE_CHARS);
        if (imageTag(s) === undefined || sconeVersion(s) === undefined) expect(s).toMatch(/^[\w.-]+$/);
        if (sconeVersion(s) === undefined) expect(imageTag(s)).toBeUndefined();
      }),
      fuzzParameters(),
    );
  });
});

describe("names and paths", () => {
  test("an accepted DNS label or subdomain is lower-case letters, digits, '-' (and '.'), within its length", () => {
    fc.assert(
      fc.property(hostileString, fc.integer({ min: 1, max: 63 }), (s, max) => {
        if (dnsLabel(max)(s) === undefined) expect(s).toMatch(new RegExp(`^[a-z0-9-]{1,${max}}$`));
        if (dnsSubdomain(s) === undefined) expect(s).toMatch(/^[a-z0-9.-]{1,253}$/);
      }),
      fuzzParameters(),
    );
  });

  test("labels built from the grammar are accepted", () => {
    fc.assert(
      fc.property(fc.array(alnum, { minLength: 1, maxLength: 4 }), (parts) => {
        const label = parts.join("-").slice(0, 63).replace(/-+$/, "");
        expect(dnsLabel()(label)).toBeUndefined();
        expect(dnsSubdomain(parts.join("."))).toBeUndefined();
      }),
      fuzzParameters(),
    );
  });

  test("an accepted relative path stays below its base", () => {
    fc.assert(
      fc.property(hostileString, (s) => {
        if (safeRelativePath(s) !== undefined) return;
        expect(posix.join("/base", s).startsWith("/base/")).toBe(true);
        expect(posix.normalize(s)).toBe(s);
      }),
      fuzzParameters(),
    );
  });

  test("a value is shown on one line, quoted", () => {
    fc.assert(
      fc.property(hostileString, (s) => {
        const text = shown(s);
        // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what must not appear
        expect(text).not.toMatch(/[\n\r\u0000\u007f]/);
        expect(text.startsWith('"')).toBe(true);
      }),
      fuzzParameters(),
    );
  });
});
