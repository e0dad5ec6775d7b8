// Kubeconfigs are outside input (any file KUBECONFIG names). Whatever the text, parseKubeConfig and selectContext
// return or throw KubeConfigError — never a TypeError, RangeError or a hang — and an exec plugin's output is
// accepted or refused with ExecCredentialError.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { ExecCredentialError, parseExecCredential } from "../../src/kube/credentials.ts";
import { KubeConfigError, parseKubeConfig, selectContext } from "../../src/kube/kubeconfig.ts";
import { fuzzParams, thrownBy } from "./parser-runs.ts";

const VALID = `apiVersion: v1
kind: Config
current-context: c
clusters:
- name: k
  cluster: { server: "https://127.0.0.1:6443", certificate-authority-data: QUJD, insecure-skip-tls-verify: false }
contexts:
- name: c
  context: { cluster: k, user: u, namespace: ns }
users:
- name: u
  user:
    token: abc
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./plugin
      args: [a, b]
      env: [{ name: A, value: b }]
      interactiveMode: Never
`;

/** Values a field may hold: the expected kind, or anything at all. */
const field = (good: fc.Arbitrary<unknown>) => fc.oneof(good, fc.anything({ maxDepth: 2 }), fc.constant(null));
const named = (key: string, body: fc.Arbitrary<unknown>) =>
  fc.array(fc.oneof(fc.record({ name: field(fc.string()), [key]: body }, { requiredKeys: [] }), fc.anything()), {
    maxLength: 3,
  });
const kubeconfigShaped = fc.record(
  {
    "current-context": field(fc.constantFrom("c", "", "x")),
    clusters: field(
      named(
        "cluster",
        fc.record(
          {
            server: field(fc.constantFrom("https://h:1", "https://h:1///", "")),
            "certificate-authority": field(fc.string()),
            "insecure-skip-tls-verify": field(fc.boolean()),
          },
          { requiredKeys: [] },
        ),
      ),
    ),
    contexts: field(
      named("context", fc.record({ cluster: field(fc.constant("k")), user: field(fc.string()) }, { requiredKeys: [] })),
    ),
    users: field(
      named(
        "user",
        fc.record(
          {
            token: field(fc.string()),
            "auth-provider": field(fc.record({ name: field(fc.string()) })),
            exec: field(
              fc.record(
                {
                  command: field(fc.string()),
                  apiVersion: field(fc.constant("client.authentication.k8s.io/v1")),
                  args: field(fc.array(fc.string(), { maxLength: 2 })),
                  env: field(fc.array(fc.record({ name: field(fc.string()), value: field(fc.string()) }))),
                  interactiveMode: field(fc.constantFrom("Never", "Always", "IfAvailable", "Sometimes")),
                  provideClusterInfo: field(fc.boolean()),
                },
                { requiredKeys: [] },
              ),
            ),
          },
          { requiredKeys: [] },
        ),
      ),
    ),
  },
  { requiredKeys: [] },
);

/** The valid kubeconfig with a few characters inserted, deleted or replaced. */
const mutated = fc
  .array(fc.tuple(fc.nat({ max: VALID.length }), fc.nat({ max: 3 }), fc.string({ maxLength: 4 })), {
    minLength: 1,
    maxLength: 4,
  })
  .map((edits) => edits.reduce((text, [at, del, insert]) => text.slice(0, at) + insert + text.slice(at + del), VALID));

async function parsesOrRefuses(text: string): Promise<void> {
  const err = await thrownBy(async () => {
    const config = await parseKubeConfig(text, "/fuzz/kubeconfig");
    const selected = await thrownBy(() => selectContext(config));
    if (selected !== undefined && !(selected instanceof KubeConfigError)) throw selected;
  });
  if (err !== undefined && !(err instanceof KubeConfigError)) throw err;
}

describe("parseKubeConfig (fuzz)", () => {
  test("the valid base parses", async () => {
    const config = await parseKubeConfig(VALID, "/fuzz/kubeconfig");
    expect(selectContext(config).namespace).toBe("ns");
  });

  test("arbitrary text", async () => {
    await fc.assert(fc.asyncProperty(fc.string({ unit: "binary", maxLength: 400 }), parsesOrRefuses), fuzzParams());
  });

  test("kubeconfig-shaped documents with wrong-typed fields", async () => {
    await fc.assert(
      fc.asyncProperty(kubeconfigShaped, (doc) => parsesOrRefuses(JSON.stringify(doc) ?? "")),
      fuzzParams(),
    );
  });

  test("a valid kubeconfig with random edits", async () => {
    await fc.assert(fc.asyncProperty(mutated, parsesOrRefuses), fuzzParams());
  });
});

describe("parseExecCredential (fuzz)", () => {
  const v1 = "client.authentication.k8s.io/v1";
  const output = fc.oneof(
    fc.string({ unit: "binary", maxLength: 200 }),
    fc.anything().map((v) => JSON.stringify(v) ?? ""),
    fc
      .record(
        {
          apiVersion: field(fc.constant(v1)),
          kind: field(fc.constant("ExecCredential")),
          status: field(
            fc.record(
              {
                token: field(fc.string()),
                clientCertificateData: field(fc.string()),
                clientKeyData: field(fc.string()),
                expirationTimestamp: field(fc.constantFrom("2030-01-01T00:00:00Z", "soon", "")),
              },
              { requiredKeys: [] },
            ),
          ),
        },
        { requiredKeys: [] },
      )
      .map((v) => JSON.stringify(v)),
  );
  test("any plugin output is a credential or an ExecCredentialError", () => {
    fc.assert(
      fc.property(output, (stdout) => {
        try {
          const { credential } = parseExecCredential(stdout, v1);
          expect(Boolean(credential.token) || Boolean(credential.clientCertPem && credential.clientKeyPem)).toBe(true);
        } catch (err) {
          if (!(err instanceof ExecCredentialError)) throw err;
        }
      }),
      fuzzParams(),
    );
  });
});

describe("parseKubeConfig regressions", () => {
  // Was `server.replace(/\/+$/, "")`: quadratic in the run of slashes, 11 s for 100 000 of them and ~20 min
  // for a million. Now linear; the test's timeout is a thousand times what it needs.
  test("a server of a million slashes is trimmed, not a hang", async () => {
    const text = JSON.stringify({
      clusters: [{ name: "k", cluster: { server: `https://h${"/".repeat(1_000_000)}x//` } }],
    });
    const config = await parseKubeConfig(text, "/fuzz/kubeconfig");
    expect(config.clusters.get("k")?.server).toBe(`https://h${"/".repeat(1_000_000)}x`);
  }, 10_000);

  test("alias bombs and deep nesting are KubeConfigErrors", async () => {
    const bomb = `a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n`;
    expect(await thrownBy(() => parseKubeConfig(bomb, "/k"))).toBeInstanceOf(KubeConfigError);
    expect(await thrownBy(() => parseKubeConfig("[".repeat(20_000), "/k"))).toBeInstanceOf(KubeConfigError);
  });

  test("errors of the old plain Error type are KubeConfigError and ExecCredentialError", async () => {
    expect(await thrownBy(() => parseKubeConfig("clusters: 3", "/k"))).toBeInstanceOf(KubeConfigError);
    expect(
      await thrownBy(() => selectContext({ clusters: new Map(), users: new Map(), contexts: new Map(), sources: [] })),
    ).toBeInstanceOf(KubeConfigError);
    expect(await thrownBy(() => parseExecCredential("[]", "v1"))).toBeInstanceOf(ExecCredentialError);
  });
});
