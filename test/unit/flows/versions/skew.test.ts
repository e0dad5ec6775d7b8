// The skew decision of `scone version`: which operator images and CRDs disagree with the client, and which agree.
import { describe, expect, test } from "bun:test";
import { operatorVersionOf } from "../../../../src/flows/versions/observe.ts";
import {
  type CrdVersion,
  imageTag,
  type OperatorVersion,
  parseVersion,
  skewWarnings,
} from "../../../../src/flows/versions/skew.ts";

const op = (image: string): OperatorVersion => ({
  namespace: "scone-system",
  name: "scone-controller-manager",
  image,
  version: imageTag(image),
  sconeVersion: "6.0.6",
  replicas: 1,
  ready: 1,
});
const crd = (over: Partial<CrdVersion> = {}): CrdVersion => ({
  name: "cas.services.scone.cloud",
  installed: true,
  served: ["v1beta1"],
  installedBy: "0.4.2",
  expected: "v1beta1",
  ...over,
});

describe("imageTag and parseVersion", () => {
  test("the tag after the last path segment's colon, ignoring a registry port and a digest", () => {
    expect(imageTag("localhost:5000/scone/scone:0.4.2")).toBe("0.4.2");
    expect(imageTag("reg.example.com/scone:0.4.2@sha256:abcd")).toBe("0.4.2");
    expect(imageTag("localhost:5000/scone")).toBeUndefined();
    expect(imageTag("scone@sha256:abcd")).toBeUndefined();
  });
  test("versions with a v, a pre-release or build part parse; tags like latest do not", () => {
    expect(parseVersion("v1.2.3-dev")).toEqual({ major: 1, minor: 2, patch: 3 });
    expect(parseVersion("latest")).toBeUndefined();
    expect(parseVersion(undefined)).toBeUndefined();
  });
});

describe("skewWarnings", () => {
  test("same minor (another patch, a -dev client) and current CRDs: no warning", () => {
    expect(skewWarnings("0.4.2-dev", [op("r/scone:0.4.0")], [crd()])).toEqual([]);
  });

  test("an operator of another minor or major version is named with both versions and the fix", () => {
    const w = skewWarnings("0.4.2", [op("r/scone:0.3.9"), op("r/scone:1.4.2")], [crd()]);
    expect(w).toHaveLength(2);
    expect(w[0]).toContain("operator scone-system/scone-controller-manager runs 0.3.9, this client is 0.4.2");
    expect(w[0]).toContain("scone operator install --reconcile --update");
    expect(w[1]).toContain("runs 1.4.2");
  });

  test("an operator image without a version tag cannot be judged, and says so", () => {
    expect(skewWarnings("0.4.2", [op("r/scone:latest")], [])).toEqual([
      "operator scone-system/scone-controller-manager: cannot tell its version from image r/scone:latest (no version tag)",
    ]);
  });

  test("CRDs older than the client, missing, or not serving the client's API version warn; newer or unlabelled do not", () => {
    expect(skewWarnings("0.4.2", [], [crd({ installedBy: "0.4.1" })])[0]).toContain(
      "was installed by scone 0.4.1, older than this client (0.4.2)",
    );
    expect(skewWarnings("0.4.2", [], [crd({ installed: false, served: [], installedBy: undefined })])[0]).toContain(
      "is not installed",
    );
    expect(skewWarnings("0.4.2", [], [crd({ served: ["v1alpha1"] })])[0]).toContain(
      "serves v1alpha1, this client uses v1beta1",
    );
    expect(skewWarnings("0.4.2", [], [crd({ installedBy: "0.5.0" }), crd({ installedBy: undefined })])).toEqual([]);
  });
});

describe("operatorVersionOf", () => {
  test("reads the manager container's image tag, the SCONE version label and readiness", () => {
    const v = operatorVersionOf({
      metadata: {
        namespace: "ops",
        name: "scone-controller-manager",
        labels: { "app.kubernetes.io/version": "6.0.6" },
      },
      spec: {
        replicas: 2,
        selector: {},
        template: {
          spec: {
            containers: [
              { name: "sidecar", image: "x:9.9.9" },
              { name: "manager", image: "r/scone:0.4.2" },
            ],
          },
        },
      },
      status: { readyReplicas: 1 },
    });
    expect(v).toEqual({
      namespace: "ops",
      name: "scone-controller-manager",
      image: "r/scone:0.4.2",
      version: "0.4.2",
      sconeVersion: "6.0.6",
      replicas: 2,
      ready: 1,
    });
  });
});
