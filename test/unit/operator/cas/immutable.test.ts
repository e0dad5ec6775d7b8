import { describe, expect, test } from "bun:test";
import { keepImmutableClaims } from "../../../../src/operator/cas/immutable.ts";
import { renderCasStatefulSet } from "../../../../src/operator/cas/render.ts";
import type { CAS } from "../../../../src/resources/cas.ts";
import { opts, upstreamCas } from "../../../harness/cas-fixtures.ts";

const resized = (cas: CAS, size: string): CAS => ({
  ...cas,
  spec: { ...cas.spec, persistence: { ...cas.spec?.persistence, size } },
});

describe("keepImmutableClaims", () => {
  test("equal claims (also with server defaults and an unset class): the desired StatefulSet as is", async () => {
    const cas = await upstreamCas("cas.yaml");
    const desired = renderCasStatefulSet(cas, opts);
    const observed = structuredClone(desired);
    for (const c of observed.spec?.volumeClaimTemplates ?? []) {
      c.spec = { ...c.spec, volumeMode: "Filesystem", storageClassName: "standard" };
      c.status = { phase: "Pending" };
    }
    const r = keepImmutableClaims(desired, observed);
    expect(r.refused).toBeUndefined();
    expect(r.statefulSet).toBe(desired);
    expect(keepImmutableClaims(desired, undefined).statefulSet).toBe(desired);
  });

  test("a resized database keeps the running claims and says what to do instead", async () => {
    const cas = await upstreamCas("cas.yaml");
    const observed = renderCasStatefulSet(cas, opts);
    const r = keepImmutableClaims(renderCasStatefulSet(resized(cas, "5Gi"), opts), observed);
    expect(r.statefulSet.spec?.volumeClaimTemplates).toEqual(observed.spec?.volumeClaimTemplates);
    expect(r.refused).toContain("keeps database 1Gi ReadWriteOnce");
    expect(r.refused).toContain("instead of database 5Gi ReadWriteOnce");
    expect(r.refused).toContain("resize the PVC itself");
    const off = { ...cas, spec: { ...cas.spec, persistence: { enabled: false } } };
    expect(keepImmutableClaims(renderCasStatefulSet(off, opts), observed).refused).toContain(
      "instead of database-snapshots",
    );
  });
});
