// The grammars by example: what a registry, prefix, reference, version, name and path may be (the properties over any
// string are in test/fuzz/grammar*.test.ts).
import { describe, expect, test } from "bun:test";
import {
  apiKey,
  dataKey,
  dnsLabel,
  dnsSubdomain,
  grammarProblem,
  hostPort,
  httpUrl,
  imagePrefix,
  imageReference,
  imageRegistry,
  registryHost,
  safeRelativePath,
  sconeVersion,
  serverAddress,
} from "../../../src/resources/grammar.ts";

describe("grammars by example", () => {
  test.each([
    [
      "imageRegistry",
      imageRegistry,
      [
        "registry.scontain.com/scone.cloud",
        "mirror.local:5000",
        "https://m.example/a/b/",
        "[::1]:5000/x",
        "localhost/scone",
      ],
      [
        "",
        "m.example/Scone",
        "m.example:0/x",
        "m.example:70000",
        "m example",
        "m.example/x\n  a: b",
        "m.example/a//b",
        "-m.example",
      ],
    ],
    [
      "registryHost",
      registryHost,
      ["registry.scontain.com", "mirror.local:5000"],
      ["mirror.local/x", "a b", "m:99999"],
    ],
    [
      "imagePrefix",
      imagePrefix,
      ["", "osc-", "team/", "team/osc_", "a.b-"],
      ["Osc-", "-osc", "a//", "/a", "a b", "osc-\n"],
    ],
    [
      "imageReference",
      imageReference,
      ["cas", "r.example:5000/scone/cas:6.0.6", `r.example/cas@sha256:${"a".repeat(64)}`],
      ["cas:6.0.6 x", "cas:", "Cas", "r.example/cas:6.0.6\nx: y", "cas:-bad"],
    ],
    [
      "sconeVersion",
      sconeVersion,
      ["6.0.6", "5.9.0-rc.9", "7.0.0-alpha.2"],
      ["6.0", "v6.0.6", "6.0.6+b", "6.0.6 ", "6.0.6\n"],
    ],
    ["dnsLabel", dnsLabel(), ["cas", "a-b", "0a"], ["", "-a", "a-", "A", "a.b", "a".repeat(64)]],
    ["dnsSubdomain", dnsSubdomain, ["a.b-c.d", "node-1"], ["a..b", ".a", "A.b", "a_b"]],
    ["dataKey", dataKey, ["apiKey", "tls.crt", "a-b_c"], ["", ".", "..", "a/b", "a b"]],
    ["apiKey", apiKey, ["0123456789abcdef0123456789abcdef", "dcap-SECRET-1"], ["", "a b", "a\nb", 'a"b']],
    ["hostPort", hostPort, ["cas.ns", "127.0.0.1:8081", "[::1]:8081"], ["cas.ns:0", "http://cas", "cas/x"]],
    ["serverAddress", serverAddress, ["cas.ns:8081", "https://127.0.0.1:8081"], ["ftp://x", "cas ns", "https://a b"]],
    [
      "httpUrl",
      httpUrl,
      ["https://audit.example/in?a=1", "http://127.0.0.1:9/x"],
      ["audit.example", "file:///etc", "https://a/\nb"],
    ],
    [
      "safeRelativePath",
      safeRelativePath,
      ["a", "a/b.c", "x/.hidden"],
      ["", "/a", "../a", "a/../b", "a//b", "a/", "a\\b", "."],
    ],
  ] as const)("%s", (_name, grammar, valid, invalid) => {
    for (const v of valid) expect([v, grammar(v)]).toEqual([v, undefined]);
    for (const v of invalid) expect([v, typeof grammar(v)]).toEqual([v, "string"]);
  });

  test("a refusal names what was given and the flag, on one line; a secret's value is left out", () => {
    expect(grammarProblem("--image-registry", "a\nb", imageRegistry)).toStartWith(
      'invalid value "a\\nb" for --image-registry: expected a registry',
    );
    expect(grammarProblem("--dcap-api", "s3cr3t value", apiKey, { secret: true })).toBe(
      'invalid value for --dcap-api: expected an API key: at most 256 letters, digits, ".", "_", "~", "+", "/", "=" and "-"',
    );
    expect(grammarProblem("--image-registry", "ok.example", imageRegistry)).toBeUndefined();
  });
});
