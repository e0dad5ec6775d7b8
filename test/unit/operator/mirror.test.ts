// Every image the operator renders comes from the mirror it was installed with: install writes
// SCONE_IMAGE_REGISTRY/SCONE_IMAGE_PREFIX on the operator Deployment, imageMirrorFromEnv reads them back, and the
// Scone stack, the CAS (with its backup controller and safety service) and the webhook defaults use that one value.
import { describe, expect, test } from "bun:test";
import { renderDeployment } from "../../../src/install/operator.ts";
import { resolveInstallOptions } from "../../../src/install/options.ts";
import { casSettings } from "../../../src/operator/cas/settings.ts";
import { renderNodeAgents, renderUnprovisionedCas } from "../../../src/operator/scone/render.ts";
import type { CAS } from "../../../src/resources/cas.ts";
import { casWebhookDefaults, imageMirrorFromEnv } from "../../../src/resources/defaults.ts";
import type { Scone } from "../../../src/resources/scone.ts";

const MIRROR = "127.0.0.1:5000/mirror";
const PREFIX = "pfx-";
const mirrored = (image: string | undefined) => image?.startsWith(`${MIRROR}/${PREFIX}`) === true;

describe("the operator's image mirror", () => {
  test("install's Deployment env round-trips through imageMirrorFromEnv", () => {
    const d = renderDeployment(resolveInstallOptions({ imageRegistry: MIRROR, imagePrefix: PREFIX }), {});
    const env = Object.fromEntries(
      (d.spec?.template.spec?.containers[0]?.env ?? []).flatMap((e) => (e.value ? [[e.name, e.value]] : [])),
    );
    expect(imageMirrorFromEnv(env)).toEqual({ imageRepo: MIRROR, imagePrefix: PREFIX });
    expect(mirrored(d.spec?.template.spec?.containers[0]?.image)).toBe(true);
  });

  test("upstream's IMAGE_REPO/IMAGE_PREFIX count when scone's names are unset; unset means upstream's registry", () => {
    expect(imageMirrorFromEnv({ IMAGE_REPO: MIRROR, IMAGE_PREFIX: PREFIX })).toEqual({
      imageRepo: MIRROR,
      imagePrefix: PREFIX,
    });
    expect(imageMirrorFromEnv({ SCONE_IMAGE_REGISTRY: "a.example/x", IMAGE_REPO: MIRROR })).toEqual({
      imageRepo: "a.example/x",
    });
    expect(imageMirrorFromEnv({})).toEqual({});
  });

  test("a registry or prefix that is not valid by its grammar is refused at start, naming the variable", () => {
    expect(() => imageMirrorFromEnv({ SCONE_IMAGE_REGISTRY: "a.example/x\nprivileged: true" })).toThrow(
      /SCONE_IMAGE_REGISTRY/,
    );
    expect(() => imageMirrorFromEnv({ IMAGE_PREFIX: "osc-\n  tolerations:" })).toThrow(/IMAGE_PREFIX/);
  });

  test("the Scone stack's SGXPlugin, LAS and CAS name mirrored images", () => {
    const scone = { apiVersion: "x/v1", kind: "Scone", metadata: { name: "s" }, spec: {} } as Scone;
    const o = { namespace: "scone-system", casNonce: "0".repeat(32), imageRepo: MIRROR, imagePrefix: PREFIX };
    const images = [...renderNodeAgents(scone, o), renderUnprovisionedCas(scone, o)].map(
      (x) => (x as { spec?: { image?: string } }).spec?.image,
    );
    expect(images).toHaveLength(3);
    for (const image of images) expect(mirrored(image)).toBe(true);
  });

  test("a CAS naming no images gets mirrored CAS, backup controller and safety service images", () => {
    const cas = {
      apiVersion: "services.scone.cloud/v1beta1",
      kind: "CAS",
      metadata: { name: "cas", namespace: "ns" },
      spec: { "backup-controller": { enabled: true }, safetyService: { enabled: true } },
    } as CAS;
    const mirror = { imageRepo: MIRROR, imagePrefix: PREFIX };
    const s = casSettings(cas, { serviceVersion: "6.0.6", operatorNamespace: "scone-system", imageMirror: mirror });
    expect([s.image, s.backupController.image, s.safetyService.image]).toEqual([
      `${MIRROR}/${PREFIX}cas:6.0.6`,
      `${MIRROR}/${PREFIX}backup-controller:6.0.6`,
      `${MIRROR}/${PREFIX}cas-safety-service:6.0.6`,
    ]);
    const defaulted = casWebhookDefaults(cas, { serviceVersion: "6.0.6", ...mirror }).spec;
    expect(mirrored(defaulted?.image)).toBe(true);
    expect(mirrored(defaulted?.["backup-controller"]?.image)).toBe(true);
  });
});
