// The pull-secret reconciler's decisions besides planInjection (test/unit/operator/pull-secrets-plan.test.ts):
// which namespaces it reads at all, what a refused read means, and which Secret an action concerns.
import { describe, expect, test } from "bun:test";
import {
  actionTarget,
  concernsNamespace,
  FORBIDDEN_RECHECK_MS,
  planForbidden,
} from "../../../../src/operator/pull-secrets/plan.ts";

const OPNS = "scone-system";
const ns = (name: string, annotations: Record<string, string> = {}) => ({ metadata: { name, annotations } });

describe("concernsNamespace", () => {
  test("an annotated namespace, whatever the value, or one a copy went to; never the operator's own", () => {
    expect(concernsNamespace(ns("team-a", { "sconeapps/inject-pull-secret": "true" }), OPNS, false)).toBe(true);
    expect(concernsNamespace(ns("team-a", { "scone-operator/inject-pull-secret": "false" }), OPNS, false)).toBe(true);
    expect(concernsNamespace(ns("team-a"), OPNS, true)).toBe(true);
    expect(concernsNamespace(ns("team-a", { other: "true" }), OPNS, false)).toBe(false);
    expect(concernsNamespace(ns(OPNS, { "sconeapps/inject-pull-secret": "true" }), OPNS, true)).toBe(false);
  });
});

describe("planForbidden", () => {
  test("a namespace asking for a copy is warned with the grant and looked at again later", () => {
    expect(planForbidden(ns("team-a", { "sconeapps/inject-pull-secret": "true" }), "grant it")).toEqual({
      warning: "grant it",
      requeueAfterMs: FORBIDDEN_RECHECK_MS,
    });
  });
  test("one that does not ask (annotation not true) has nothing of ours: no warning, no retry", () => {
    expect(planForbidden(ns("team-a", { "sconeapps/inject-pull-secret": "false" }), "grant it")).toBeUndefined();
  });
});

describe("actionTarget", () => {
  test("the written secret's name, or the named one", () => {
    expect(actionTarget({ op: "create", secret: { metadata: { name: "sconeapps" } } })).toBe("sconeapps");
    expect(actionTarget({ op: "delete", name: "scone-operator-pull" })).toBe("scone-operator-pull");
    expect(actionTarget({ op: "leave", name: "sconeapps", why: "not ours" })).toBe("sconeapps");
  });
});
