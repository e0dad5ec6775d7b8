// The install planner: what an empty cluster needs, that a cluster holding what was applied needs nothing, which
// fields an update names, --update, upstream CRD takeover, missing pull secrets; and that no printed form of a
// plan (text lines, verbose lines, JSON) carries the registry token or the DCAP key.
import { describe, expect, test } from "bun:test";
import pkg from "../../../../package.json" with { type: "json" };
import { desiredInstall, INSTALL_PHASES } from "../../../../src/flows/install/desired.ts";
import { installOptionsFromFlags } from "../../../../src/flows/install/options.ts";
import {
  fieldDiff,
  type Observed,
  type PlanStep,
  planInstall,
  refKey,
  refOfObject,
} from "../../../../src/flows/install/plan.ts";
import { outcomeJson, stepLines, summaryLine } from "../../../../src/flows/install/report.ts";
import { listImages } from "../../../../src/install/images.ts";
import { renderInstallManifests } from "../../../../src/install/manifests.ts";
import type { KubeObject } from "../../../../src/kube/types.ts";
import { renderCrds } from "../../../../src/resources/crds.ts";
import { withAppliedHash } from "../../../../src/runtime/drift.ts";

const TOKEN = "tok-SECRET-0123456789abcdef";
const DCAP = "dcap-SECRET-fedcba9876543210";
const flags = {
  username: "alice",
  "access-token": TOKEN,
  email: "alice@example.com",
  "dcap-api": DCAP,
  reconcile: true,
};

const desiredOf = (f: Record<string, unknown> = flags) => desiredInstall(installOptionsFromFlags(f));

/** What the API server would hold after applying `objects` (plus a field it defaults). */
function clusterHolding(objects: readonly KubeObject[]): Map<string, KubeObject | undefined> {
  const m = new Map<string, KubeObject | undefined>();
  for (const o of objects) {
    const stored = structuredClone(withAppliedHash(o)) as KubeObject & { metadata: { uid?: string } };
    stored.metadata.uid = "uid-1";
    m.set(refKey(refOfObject(o)), stored);
  }
  return m;
}

const summary = (steps: PlanStep[]) => steps.map((s) => `${s.action} ${s.ref.kind}/${s.ref.name}`);

describe("planInstall", () => {
  test("an empty cluster: everything is created, in phase order, LAS last", () => {
    const d = desiredOf();
    const steps = planInstall({ desired: d.items, observed: new Map() });
    expect(steps.every((s) => s.action === "create")).toBe(true);
    expect(steps.length).toBe(d.items.length);
    const phases = steps.map((s) => INSTALL_PHASES.indexOf(s.phase));
    expect(phases).toEqual([...phases].sort((a, b) => a - b));
    expect(summary(steps).slice(0, 3)).toEqual([
      "create Namespace/scone-system",
      "create Secret/scone-operator-pull",
      "create Secret/sconeapps",
    ]);
    expect(summary(steps).at(-1)).toBe("create LAS/las");
    expect(summary(steps)).toContain("create Deployment/scone-controller-manager");
    expect(summary(steps)).toContain("create SGXPlugin/sgxplugin");
  });

  test("a cluster holding what was applied: everything unchanged, nothing to write", () => {
    const d = desiredOf();
    const steps = planInstall({ desired: d.items, observed: clusterHolding(d.items.map((i) => i.object)) });
    expect(steps.map((s) => s.action)).toEqual(d.items.map(() => "unchanged"));
  });

  test("--update re-applies what matches", () => {
    const d = desiredOf();
    const steps = planInstall({
      desired: d.items,
      observed: clusterHolding(d.items.map((i) => i.object)),
      forceUpdate: true,
    });
    expect(steps.every((s) => s.action === "update" && s.apply !== undefined)).toBe(true);
  });

  test("a changed image is an update naming the field, old and new value", () => {
    const before = desiredOf();
    const after = desiredOf({ ...flags, "image-registry": "mirror.local/scone", "image-prefix": "osc-" });
    const steps = planInstall({ desired: after.items, observed: clusterHolding(before.items.map((i) => i.object)) });
    const las = steps.find((s) => s.ref.kind === "LAS");
    expect(las?.action).toBe("update");
    expect(las?.changes).toContainEqual({
      path: "spec.image",
      from: '"registry.scontain.com/scone.cloud/las:6.0.6"',
      to: '"mirror.local/scone/osc-las:6.0.6"',
    });
    const deployment = steps.find((s) => s.ref.kind === "Deployment");
    expect(deployment?.changes.map((c) => c.path)).toContain("spec.template.spec.containers[0].image");
    // The pull secrets now name the mirror's registry.
    expect(steps.find((s) => s.ref.name === "sconeapps")?.action).toBe("update");
  });

  test("a changed access token replaces the pull secrets; the diff names data without values", () => {
    const before = desiredOf();
    const after = desiredOf({ ...flags, "access-token": `${TOKEN}-new` });
    const steps = planInstall({ desired: after.items, observed: clusterHolding(before.items.map((i) => i.object)) });
    const secrets = steps.filter((s) => s.ref.kind === "Secret");
    expect(secrets.map((s) => s.action)).toEqual(["update", "update"]);
    // Named without values; the applied-hash annotation, which follows every change, is left out.
    expect(secrets[0]?.changes).toEqual([
      { path: 'metadata.annotations["scone.cloud/registry-auth-hash"]' },
      { path: 'data[".dockerconfigjson"]' },
    ]);
    expect(steps.filter((s) => s.action !== "unchanged").map((s) => s.ref.kind)).toEqual(["Secret", "Secret"]);
  });

  test("a Secret of another type is recreated (type is immutable)", () => {
    const d = desiredOf();
    const observed = clusterHolding(d.items.map((i) => i.object));
    const secret = d.items.find((i) => i.object.kind === "Secret")?.object as KubeObject;
    observed.set(refKey(refOfObject(secret)), {
      ...(observed.get(refKey(refOfObject(secret))) ?? {}),
      type: "Opaque",
    } as KubeObject);
    const step = planInstall({ desired: d.items, observed }).find((s) => s.ref.name === secret.metadata?.name);
    expect(step?.action).toBe("update");
    expect(step?.recreate).toBe(true);
  });

  test("a CRD from the upstream chart is taken over: merge patch first, then apply", () => {
    const d = desiredOf();
    const observed = clusterHolding(d.items.map((i) => i.object));
    const crd = d.items.find((i) => i.object.kind === "CustomResourceDefinition")?.object as KubeObject;
    const upstream = structuredClone(observed.get(refKey(refOfObject(crd)))) as KubeObject & {
      spec: { conversion: unknown };
    };
    upstream.spec.conversion = { strategy: "Webhook", webhook: { clientConfig: {} } };
    observed.set(refKey(refOfObject(crd)), upstream);
    const step = planInstall({ desired: d.items, observed }).find((s) => s.ref.name === crd.metadata?.name);
    expect(step?.action).toBe("update");
    expect(step?.mergePatchFirst).toEqual({
      metadata: { annotations: { "cert-manager.io/inject-ca-from": null } },
      spec: { conversion: { strategy: "None", webhook: null } },
    });
  });

  test("without credentials the pull secrets are required, not rendered: missing when absent, quiet when present", () => {
    const d = desiredOf({ reconcile: true });
    expect(d.items.some((i) => i.object.kind === "Secret")).toBe(false);
    const missing = planInstall({ desired: d.items, observed: new Map(), required: d.required });
    expect(missing.filter((s) => s.action === "missing").map((s) => s.ref.name)).toEqual([
      "scone-operator-pull",
      "sconeapps",
    ]);
    const present: Observed = new Map(d.required.map((r) => [refKey(r.ref), { metadata: { name: r.ref.name } }]));
    expect(planInstall({ desired: [], observed: present, required: d.required })).toEqual([]);
  });

  test("deletions and patches come first in their phase", () => {
    const d = desiredOf();
    const other = { apiVersion: "base.scone.cloud/v1beta1", kind: "SGXPlugin", metadata: { name: "old" } };
    const steps = planInstall({
      desired: d.items,
      observed: new Map(),
      deletions: [{ phase: "sgxplugin", object: other, reason: "one per cluster" }],
    });
    const i = steps.findIndex((s) => s.action === "delete");
    expect(steps[i]?.ref.name).toBe("old");
    expect(steps[i + 1]?.ref.kind).toBe("SGXPlugin");
    expect(steps[i + 1]?.ref.name).toBe("sgxplugin");
  });
});

describe("desired state", () => {
  test("--only-operator leaves out LAS and SGXPlugin; --no-sgxplugin only the plugin", () => {
    const kinds = (f: Record<string, unknown>) => desiredOf(f).items.map((i) => i.object.kind);
    expect(kinds({ ...flags, "only-operator": true })).not.toContain("LAS");
    expect(kinds({ ...flags, "only-operator": true })).not.toContain("SGXPlugin");
    expect(kinds({ ...flags, sgxplugin: false })).toContain("LAS");
    expect(kinds({ ...flags, sgxplugin: false })).not.toContain("SGXPlugin");
  });

  test("every image follows --image-registry and --image-prefix; the SCONE ones --set-version", () => {
    const d = desiredOf({
      ...flags,
      "image-registry": "mirror.local/scone",
      "image-prefix": "osc-",
      "set-version": "6.1.0",
    });
    const images = [...JSON.stringify(d.items).matchAll(/"image":"([^"]+)"/g)].map((m) => m[1]);
    expect(images.length).toBe(3);
    // scone's own operator image keeps scone's version (the version of the binary it runs).
    expect(images).toContain(`mirror.local/scone/osc-scone:${pkg.version}`);
    const services = images.filter((i) => !i?.includes("/osc-scone:"));
    expect(services.length).toBe(2);
    for (const i of services) expect(i).toMatch(/^mirror\.local\/scone\/osc-[a-z0-9-]+:6\.1\.0$/);
  });

  test("--operator-image replaces the operator image only", () => {
    const d = desiredOf({ ...flags, "image-registry": "mirror.local/scone", "operator-image": "example.com/x:1" });
    const images = [...JSON.stringify(d.items).matchAll(/"image":"([^"]+)"/g)].map((m) => m[1]);
    expect(images).toContain("example.com/x:1");
    expect(images.filter((i) => i?.startsWith("mirror.local/scone/")).length).toBe(2);
  });

  test("GitOps parity: `scone manifests all` and `scone images` with the same flags give what install applies", () => {
    const mirror = { "image-registry": "mirror.local/scone", "image-prefix": "osc-", "set-version": "6.1.0" };
    const d = desiredOf({ ...flags, ...mirror, namespace: "ops" });
    const objects = (...phases: string[]) => d.items.filter((i) => phases.includes(i.phase)).map((i) => i.object);
    expect(objects("namespaces", "operator")).toEqual(
      renderInstallManifests({
        namespace: "ops",
        version: "6.1.0",
        imageRegistry: "mirror.local/scone",
        imagePrefix: "osc-",
      }),
    );
    expect(objects("crds")).toEqual(renderCrds() as unknown as KubeObject[]);
    const list = listImages("6.1.0", "mirror.local/scone", "osc-");
    const listed = [list.operator, ...list.services].map((i) => i.image);
    const applied = [...JSON.stringify(d.items).matchAll(/"image":"([^"]+)"/g)].map((m) => m[1]);
    expect(applied.length).toBe(3);
    for (const image of applied) expect(listed).toContain(image as string);
  });

  test("--operator-node-selector places the operator pods only; --node-selector the plugin only", () => {
    const d = desiredOf({
      ...flags,
      "operator-node-selector": "kubernetes.io/hostname=n1",
      "node-selector": "sgx=yes",
    });
    const deployment = d.items.find((i) => i.object.kind === "Deployment")?.object as
      | { spec?: { template?: { spec?: { nodeSelector?: Record<string, string> } } } }
      | undefined;
    expect(deployment?.spec?.template?.spec?.nodeSelector).toEqual({ "kubernetes.io/hostname": "n1" });
    const plugin = d.items.find((i) => i.object.kind === "SGXPlugin")?.object as { spec?: Record<string, unknown> };
    expect(plugin.spec?.nodeSelector).toEqual({ sgx: "yes" });
    const plain = desiredOf({ ...flags, "node-selector": "sgx=yes" }).items.find((i) => i.object.kind === "Deployment")
      ?.object as { spec?: { template?: { spec?: Record<string, unknown> } } } | undefined;
    expect(plain?.spec?.template?.spec).not.toHaveProperty("nodeSelector");
  });

  test("LAS and SGXPlugin as upstream's las.yaml / sgxplugin.yaml; the node selector goes to the plugin", () => {
    const d = desiredOf({ ...flags, "node-selector": 'sgx.intel.com/capable: "true"', create: "apps" });
    const spec = (kind: string) =>
      (d.items.find((i) => i.object.kind === kind)?.object as { spec?: Record<string, unknown> } | undefined)?.spec ??
      {};
    expect(spec("SGXPlugin")).toEqual({
      autoUpdate: true,
      image: "registry.scontain.com/scone.cloud/sgx-plugin:6.0.6",
      imagePullSecrets: [{ name: "scone-operator-pull" }],
      imagePullPolicy: "Always",
      namespace: "scone-system",
      podAnnotations: { "scone-operator/inject-pull-secret": "true" },
      nodeSelector: { "sgx.intel.com/capable": "true" },
    });
    expect(spec("LAS").dcapKey).toBe(DCAP);
    expect(spec("LAS").nodeSelector).toBeUndefined();
    expect(d.items.filter((i) => i.object.kind === "Namespace").map((i) => i.object.metadata?.name)).toEqual([
      "scone-system",
      "apps",
    ]);
    // The service namespace gets the pull secrets too (upstream's secret operator copied them there).
    expect(
      d.items
        .filter((i) => i.object.kind === "Secret")
        .map((i) => `${i.object.metadata?.namespace}/${i.object.metadata?.name}`),
    ).toEqual([
      "scone-system/scone-operator-pull",
      "scone-system/sconeapps",
      "apps/scone-operator-pull",
      "apps/sconeapps",
    ]);
  });

  test("the DCAP key falls back to the existing LAS's; without any, a warning", () => {
    const o = installOptionsFromFlags({ reconcile: true });
    const las = (d: ReturnType<typeof desiredInstall>) =>
      (d.items.find((i) => i.object.kind === "LAS")?.object as { spec?: { dcapKey?: string } } | undefined)?.spec ?? {};
    expect(las(desiredInstall(o, { existingDcapKey: "kept" })).dcapKey).toBe("kept");
    const none = desiredInstall(o);
    expect(las(none).dcapKey).toBeUndefined();
    expect(none.warnings.join()).toMatch(/DCAP/);
  });

  test("--local-operator: webhooks by URL, no Deployment and no Services", () => {
    const d = desiredOf({ ...flags, "local-operator": "127.0.0.1:9555" });
    const kinds = d.items.map((i) => i.object.kind);
    expect(kinds).not.toContain("Deployment");
    expect(kinds).not.toContain("Service");
    expect(JSON.stringify(d.items)).toContain("https://127.0.0.1:9555/");
  });
});

describe("printed plans never carry secrets", () => {
  test("text, verbose text, summary and JSON of create and update plans", () => {
    const before = desiredOf({ ...flags, "access-token": "old-token-value", "dcap-api": "old-dcap-value" });
    const after = desiredOf();
    const plans = [
      planInstall({ desired: after.items, observed: new Map() }),
      planInstall({ desired: after.items, observed: clusterHolding(before.items.map((i) => i.object)) }),
    ];
    for (const steps of plans) {
      const text = [
        ...steps.flatMap((s) => stepLines(s, { done: false, verbose: true, colour: false })),
        ...steps.flatMap((s) => stepLines(s, { done: true, verbose: false, colour: true })),
        summaryLine({ mode: "report", steps, warnings: [], differs: true }),
        JSON.stringify(outcomeJson({ mode: "reconcile", steps, warnings: [], differs: true })),
      ].join("\n");
      for (const secret of [TOKEN, DCAP, "old-token-value", "old-dcap-value", btoa(`alice:${TOKEN}`)]) {
        expect(text).not.toContain(secret);
      }
    }
    const update = plans[1]?.find((s) => s.ref.kind === "LAS");
    expect(update?.changes).toContainEqual({ path: "spec.dcapKey" });
  });
});

describe("fieldDiff", () => {
  test("lenient like drift.isSubset: server defaults, quantities as numbers, omitted empty maps", () => {
    expect(fieldDiff({ a: { b: 1, c: {} }, l: [] }, { a: { b: "1", x: 2 } })).toEqual([]);
    expect(fieldDiff({ l: [{ n: "a" }, { n: "b" }] }, { l: [{ n: "a" }] })).toEqual([
      { path: "l", from: '"1 items"', to: '"2 items"' },
    ]);
  });
});

describe("report lines", () => {
  const ns = { apiVersion: "v1", kind: "Namespace", name: "scone-system" };
  const step = (action: PlanStep["action"], extra: Partial<PlanStep> = {}): PlanStep => ({
    phase: "namespaces",
    action,
    ref: ns,
    changes: [],
    ...extra,
  });

  test("plain lines without colour; changes named inline, listed with --verbose", () => {
    const update = step("update", { changes: [{ path: "metadata.labels.a", from: '"1"', to: '"2"' }] });
    expect(stepLines(update, { done: false, verbose: false, colour: false })).toEqual([
      "update     Namespace scone-system (1 field: metadata.labels.a)",
    ]);
    expect(stepLines(update, { done: true, verbose: true, colour: false })).toEqual([
      "updated    Namespace scone-system",
      '    metadata.labels.a: "1" → "2"',
    ]);
    expect(stepLines(update, { done: true, verbose: false, colour: true })[0]).toContain("\x1b[33m");
  });

  test("the summary counts by action and tells report mode how to apply", () => {
    const steps = [step("create"), step("create"), step("missing"), step("unchanged")];
    expect(summaryLine({ mode: "report", steps, warnings: [], differs: true })).toBe(
      "2 to create, 1 missing, 1 unchanged; run again with --reconcile to apply",
    );
    expect(summaryLine({ mode: "reconcile", steps, warnings: [], differs: true })).toBe(
      "2 created, 1 missing, 1 unchanged",
    );
  });
});
