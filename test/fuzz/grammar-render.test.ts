// "Any string as registry, prefix or name reaches the rendered object only as a value, or is refused" (issue 11
// items 2 and 7): the entry points refuse what their grammar does not allow, and the renderers, given anything,
// put it into the field it was meant for and nowhere else.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { parse } from "yaml";
import { NewOperationSchema } from "../../src/api/operations/params.ts";
import { InstallOptionError, installOptionsFromFlags } from "../../src/flows/install/options.ts";
import { parsePatchFile } from "../../src/flows/provision/manifests.ts";
import { ProvisionOptionError, provisionOptionsFromFlags } from "../../src/flows/provision/options.ts";
import {
  CAS_PROVISIONING_YAML,
  casImage,
  renderBackupPolicy,
  renderProvisioningManifest,
} from "../../src/flows/provision/templates.ts";
import { manifestWithVariables } from "../../src/flows/vault/sessions.ts";
import { imagePrefix, imageReference, imageRegistry } from "../../src/resources/grammar.ts";
import { fuzzParameters, hostileString } from "./grammar-settings.ts";

const NONCE = "00112233445566778899aabbccddeeff";
const TEMPLATE = parse(CAS_PROVISIONING_YAML) as { metadata: object; spec: object };

/** Keys at every level, as paths: what a pasted value could add to. */
function keyPaths(value: unknown, at = ""): string[] {
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => [`${at}/${k}`, ...keyPaths(v, `${at}/${k}`)]);
}

describe("entry points refuse or pass a valid value", () => {
  test("provision flags: a registry is refused (naming --image-registry) or composes a valid image", () => {
    fc.assert(
      fc.property(hostileString, (registry) => {
        let imageRepo: string | undefined;
        try {
          imageRepo = provisionOptionsFromFlags({ name: "cas", "image-registry": registry }, { home: "/h" }).imageRepo;
        } catch (err) {
          expect(err).toBeInstanceOf(ProvisionOptionError);
          expect((err as Error).message).toContain("for --image-registry: ");
          return;
        }
        if (registry === "") return; // empty: the default registry
        expect(imageRegistry(imageRepo as string)).toBeUndefined();
        expect(imageReference(casImage({ imageRepo, version: "6.0.6" }))).toBeUndefined();
      }),
      fuzzParameters(),
    );
  });

  test("install flags: a registry or prefix is refused (naming the flag) or valid", () => {
    fc.assert(
      fc.property(hostileString, hostileString, (registry, prefix) => {
        try {
          const o = installOptionsFromFlags({ "image-registry": registry, "image-prefix": prefix });
          expect(imageReference(`${o.imageRegistry}/${o.imagePrefix}las:6.0.6`)).toBeUndefined();
        } catch (err) {
          expect(err).toBeInstanceOf(InstallOptionError);
          expect((err as Error).message).toMatch(/for --image-(registry|prefix): /);
        }
      }),
      fuzzParameters(),
    );
  });

  test("API: an operation body with any registry is a 400 naming params.imageRegistry, or the registry is valid", () => {
    fc.assert(
      fc.property(hostileString, (registry) => {
        const body = { kind: "provision", namespace: "prod", name: "cas", params: { imageRegistry: registry } };
        const parsed = NewOperationSchema.safeParse(body);
        if (parsed.success) expect(imageRegistry(registry)).toBeUndefined();
        else expect(parsed.error.issues.map((i) => i.path.join("."))).toEqual(["params.imageRegistry"]);
      }),
      fuzzParameters(),
    );
  });

  test("any prefix either passes its grammar or is refused; an accepted one composes a valid reference", () => {
    fc.assert(
      fc.property(hostileString, (p) => {
        if (imagePrefix(p) === undefined) expect(imageReference(`r.example/${p}cas:6.0.6`)).toBeUndefined();
      }),
      fuzzParameters(),
    );
  });
});

describe("renderers put any value into its own field only", () => {
  test("the provisioning manifest: name, namespace and image are values of their fields, no key added", () => {
    fc.assert(
      fc.property(hostileString, hostileString, hostileString, (name, namespace, image) => {
        const { object, text } = renderProvisioningManifest({ name, namespace, image, nonce: NONCE });
        expect(object.metadata.name).toBe(name);
        expect(object.metadata.namespace).toBe(namespace);
        expect(object.spec?.image).toBe(image);
        expect(keyPaths(object)).toEqual([...keyPaths(TEMPLATE), "/spec/nonce"].sort(byPosition(keyPaths(object))));
        expect(parse(text)).toEqual(object);
      }),
      fuzzParameters(100),
    );
  });

  test("the backup policy: the owner identity is the content of the injected file, nothing else", () => {
    const keys = keyPaths(parse(renderBackupPolicy("{}")));
    fc.assert(
      fc.property(hostileString, (identity) => {
        const text = renderBackupPolicy(identity);
        const doc = parse(text);
        expect(keyPaths(doc)).toEqual(keys);
        expect(doc.images[0].injection_files[0].content).toBe(`${identity.trimEnd()}\n`);
      }),
      fuzzParameters(100),
    );
  });

  test("a JSON patch file and a vault manifest: variables become string values, keys stay", () => {
    const patch = '[{"op": "replace", "path": "/spec/image", "value": "$IMAGE_REPO/x:1"}]';
    // biome-ignore lint/suspicious/noTemplateCurlyInString: envsubst's braced variable, not a template
    const manifest = "kind: Vault\nmetadata:\n  name: $VAULT_NAME\nspec:\n  image: ${VAULT_IMAGE_REPO}\n";
    fc.assert(
      fc.property(hostileString, (value) => {
        expect(parsePatchFile(patch, "p", { IMAGE_REPO: value })).toEqual([
          { op: "replace", path: "/spec/image", value: `${value}/x:1` },
        ]);
        expect(manifestWithVariables(manifest, { VAULT_NAME: value, VAULT_IMAGE_REPO: value })).toEqual({
          kind: "Vault",
          metadata: { name: value },
          spec: { image: value },
        });
      }),
      fuzzParameters(100),
    );
  });
});

/** Sorts paths in the order they appear in `order` (key order of the rendered object). */
function byPosition(order: readonly string[]): (a: string, b: string) => number {
  return (a, b) => order.indexOf(a) - order.indexOf(b);
}
