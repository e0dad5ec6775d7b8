// The rendered CRD manifests are reviewed as a golden file: any change to a definition shows up as a diff.
// Update after a deliberate change with: SCONE_UPDATE_GOLDEN=1 bun test test/unit/resources/crds.test.ts

import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { crdName, renderCrdManifests, renderCrds, sconeResourceTypes } from "../../../src/resources/crds.ts";
import { resourceDefinitions, SCONE_KINDS } from "../../../src/resources/kinds.ts";

// Not *.yaml: the formatter would restyle it and then it would no longer equal what we render.
const GOLDEN = join(import.meta.dir, "golden", "crds.yaml.golden");

describe("CRD manifests", () => {
  test("match the golden file", async () => {
    const rendered = renderCrdManifests();
    if (process.env.SCONE_UPDATE_GOLDEN === "1") await Bun.write(GOLDEN, rendered);
    const golden = await Bun.file(GOLDEN).text();
    expect(rendered).toBe(golden);
  });

  test("are one YAML document per kind, equal to renderCrds()", () => {
    const docs = parseAllDocuments(renderCrdManifests()).map((d) => d.toJSON());
    expect(docs).toEqual(JSON.parse(JSON.stringify(renderCrds())));
    expect(docs.map((d) => d.spec.names.kind)).toEqual(SCONE_KINDS);
  });

  test("can leave kinds out (e.g. Vault, whose CRD upstream installers refuse)", () => {
    const kinds = renderCrds(["CAS", "LAS", "SGXPlugin", "SignedPolicy", "EncryptedPolicy", "Scone"]).map(
      (c) => c.spec.names.kind,
    );
    expect(kinds).not.toContain("Vault");
    expect(kinds).toHaveLength(6);
    expect(renderCrdManifests(["Scone"])).toContain("kind: Scone\n");
    expect(renderCrdManifests(["Scone"])).not.toContain("kind: CAS\n");
  });

  test("use a single served version and no conversion webhook", () => {
    for (const crd of renderCrds()) {
      expect(crd.spec.versions).toHaveLength(1);
      expect(crd.spec.versions[0]?.served && crd.spec.versions[0]?.storage).toBe(true);
      expect(crd.spec.conversion).toEqual({ strategy: "None" });
      expect(crd.spec.versions[0]?.subresources).toEqual({ status: {} });
    }
  });

  test("Scone is cluster-scoped v1alpha1 with the columns an operator user expects", () => {
    const scone = renderCrds().find((c) => c.spec.names.kind === "Scone");
    expect(scone?.metadata.name).toBe("scones.confidential.security.osc.t-systems.com");
    expect(scone?.spec.scope).toBe("Cluster");
    expect(scone?.spec.versions[0]?.name).toBe("v1alpha1");
    expect(scone?.spec.versions[0]?.additionalPrinterColumns.filter((c) => !c.priority).map((c) => c.name)).toEqual([
      "PHASE",
      "VERSION",
      "MANAGED",
      "AGE",
    ]);
    const schema = scone?.spec.versions[0]?.schema.openAPIV3Schema;
    expect(schema?.required).toEqual(["spec"]);
    expect(schema?.properties?.spec?.required).toEqual(["serviceVersion"]);
    expect(schema?.properties?.status?.properties?.phase?.enum).toEqual([
      "Empty",
      "Creating",
      "Running",
      "Updating",
      "Error",
      "Repairing",
    ]);
  });

  test("sconeResourceTypes lists every kind with its plural and scope", () => {
    expect(sconeResourceTypes).toContainEqual({
      apiVersion: "services.scone.cloud/v1beta1",
      kind: "CAS",
      plural: "cas",
      namespaced: true,
    });
    expect(sconeResourceTypes).toContainEqual({
      apiVersion: "base.scone.cloud/v1beta1",
      kind: "LAS",
      plural: "las",
      namespaced: false,
    });
    expect(sconeResourceTypes.map((t) => t.kind)).toEqual(SCONE_KINDS);
    for (const t of sconeResourceTypes) {
      expect(renderCrds().map((c) => c.metadata.name)).toContain(crdName(resourceDefinitions[t.kind]));
    }
  });
});
