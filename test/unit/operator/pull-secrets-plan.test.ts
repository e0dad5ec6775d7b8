import { describe, expect, test } from "bun:test";
import {
  COPIED_FROM_ANNOTATION,
  copyOf,
  type NamespaceLike,
  namespacesFor,
  planInjection,
  type SecretLike,
} from "../../../src/operator/pull-secrets/plan.ts";

const OPNS = "scone-system";
const source = (token: string): SecretLike => ({
  type: "kubernetes.io/dockerconfigjson",
  data: { ".dockerconfigjson": Buffer.from(token).toString("base64") },
  metadata: { name: "sconeapps", namespace: OPNS, labels: { "app.kubernetes.io/part-of": "scone" } },
});
const sources = (token = "t1") =>
  new Map<string, SecretLike | undefined>([
    ["scone-operator-pull", { ...source(token), metadata: { name: "scone-operator-pull", namespace: OPNS } }],
    ["sconeapps", source(token)],
  ]);
const ns = (annotations: Record<string, string>, extra: object = {}) => ({
  metadata: { name: "team-a", annotations, ...extra },
});
const none = new Map<string, SecretLike | undefined>();
const ours = (token: string, rv = "7") => ({
  ...copyOf(source(token), "team-a", OPNS, "sconeapps"),
  metadata: { ...copyOf(source(token), "team-a", OPNS, "sconeapps").metadata, resourceVersion: rv },
});

describe("planInjection", () => {
  test("each annotation brings its own secret, a copy of type and data only", () => {
    const plan = planInjection(ns({ "sconeapps/inject-pull-secret": "true" }), OPNS, sources(), none);
    expect(plan).toHaveLength(1);
    const a = plan[0];
    expect(a?.op).toBe("create");
    if (a?.op !== "create") return;
    expect(a.secret.metadata?.name).toBe("sconeapps");
    expect(a.secret.metadata?.namespace).toBe("team-a");
    expect(a.secret.data).toEqual(source("t1").data);
    expect(a.secret.metadata?.labels).toEqual({ "app.kubernetes.io/managed-by": "scone-operator" });
    expect(a.secret.metadata?.annotations?.[COPIED_FROM_ANNOTATION]).toBe("scone-system/sconeapps");
    expect(planInjection(ns({ "scone-operator/inject-pull-secret": "true" }), OPNS, sources(), none)[0]).toMatchObject({
      op: "create",
      secret: { metadata: { name: "scone-operator-pull" } },
    });
    expect(planInjection(ns({ "sconeapps/inject-pull-secret": "false" }), OPNS, sources(), none)).toEqual([]);
  });

  test("a changed token updates our copy (with its resourceVersion); an equal one is left", () => {
    const existing = new Map([["sconeapps", ours("t1")]]);
    const annotated = ns({ "sconeapps/inject-pull-secret": "true" });
    expect(planInjection(annotated, OPNS, sources("t1"), existing)).toEqual([]);
    const plan = planInjection(annotated, OPNS, sources("t2"), existing);
    expect(plan).toMatchObject([
      { op: "update", secret: { data: source("t2").data, metadata: { resourceVersion: "7" } } },
    ]);
  });

  test("a secret of that name the operator did not create is never changed or removed", () => {
    const foreign: SecretLike = {
      type: "kubernetes.io/dockerconfigjson",
      data: { x: "eQ==" },
      metadata: { name: "sconeapps", resourceVersion: "3" },
    };
    const existing = new Map([["sconeapps", foreign]]);
    expect(planInjection(ns({ "sconeapps/inject-pull-secret": "true" }), OPNS, sources(), existing)).toMatchObject([
      { op: "leave", name: "sconeapps" },
    ]);
    expect(planInjection(ns({}), OPNS, sources(), existing)).toEqual([]);
    // The label alone does not make it ours: the copied-from annotation must name this operator's namespace.
    const otherOperator = {
      ...ours("t1"),
      metadata: { ...ours("t1").metadata, annotations: { [COPIED_FROM_ANNOTATION]: "other-ns/sconeapps" } },
    };
    expect(planInjection(ns({}), OPNS, sources(), new Map([["sconeapps", otherOperator]]))).toEqual([]);
  });

  test("our copy goes when the annotation or the source goes, guarded by its resourceVersion", () => {
    const existing = new Map([["sconeapps", ours("t1", "9")]]);
    expect(planInjection(ns({}), OPNS, sources(), existing)).toEqual([
      { op: "delete", name: "sconeapps", resourceVersion: "9" },
    ]);
    const noSource = new Map<string, SecretLike | undefined>([["sconeapps", undefined]]);
    expect(planInjection(ns({ "sconeapps/inject-pull-secret": "true" }), OPNS, noSource, existing)).toMatchObject([
      { op: "delete" },
    ]);
  });

  test("nothing in the operator's own namespace or in a terminating one", () => {
    expect(
      planInjection(
        { metadata: { name: OPNS, annotations: { "sconeapps/inject-pull-secret": "true" } } },
        OPNS,
        sources(),
        none,
      ),
    ).toEqual([]);
    expect(
      planInjection(
        ns({ "sconeapps/inject-pull-secret": "true" }, { deletionTimestamp: "2026-01-01T00:00:00Z" }),
        OPNS,
        sources(),
        none,
      ),
    ).toEqual([]);
  });
});

test("a source change concerns the namespaces annotated for that secret (any value: a copy may have to go)", () => {
  const all: NamespaceLike[] = [
    { metadata: { name: "a", annotations: { "sconeapps/inject-pull-secret": "true" } } },
    { metadata: { name: "b", annotations: { "scone-operator/inject-pull-secret": "true" } } },
    { metadata: { name: "c", annotations: { "sconeapps/inject-pull-secret": "false" } } },
    { metadata: { name: "d" } },
  ];
  expect(namespacesFor("sconeapps", all)).toEqual(["a", "c"]);
  expect(namespacesFor("scone-operator-pull", all)).toEqual(["b"]);
  expect(namespacesFor("other", all)).toEqual([]);
});
