// Flag values → install options: node selectors as upstream pastes them, the pull-secret registry, the mode.
import { describe, expect, test } from "bun:test";
import {
  InstallOptionError,
  installOptionsFromFlags,
  parseLocalOperator,
  parseNodeSelector,
  registryHostOf,
} from "../../../../src/flows/install/options.ts";

describe("parseNodeSelector", () => {
  test("upstream's 'KEY: \"VALUE\"' form", () => {
    expect(parseNodeSelector('sgx.intel.com/capable: "true"')).toEqual({ "sgx.intel.com/capable": "true" });
  });
  test("several lines and flow style; bare scalars become strings", () => {
    expect(parseNodeSelector("a: x\nb: true")).toEqual({ a: "x", b: "true" });
    expect(parseNodeSelector('{zone: "eu-1", sgx: 1}')).toEqual({ zone: "eu-1", sgx: "1" });
  });
  test("kubectl's KEY=VALUE,KEY2=VALUE2 form", () => {
    expect(parseNodeSelector("sgx=true,zone=eu-1")).toEqual({ sgx: "true", zone: "eu-1" });
  });
  test("refuses what is not a mapping of label keys to label values, naming the flag", () => {
    for (const bad of ["", "just-a-word", "- a\n- b", "a: [1, 2]", '"bad key!": x', 'a: "has space"']) {
      expect(() => parseNodeSelector(bad)).toThrow(InstallOptionError);
      expect(() => parseNodeSelector(bad)).toThrow(/--node-selector/);
    }
  });
});

describe("parseLocalOperator", () => {
  test("HOST:PORT, [IPv6]:PORT and a bare port", () => {
    expect(parseLocalOperator("10.0.0.5:9443")).toEqual({ host: "10.0.0.5", port: 9443 });
    expect(parseLocalOperator("[::1]:8443")).toEqual({ host: "::1", port: 8443 });
    expect(parseLocalOperator("9443")).toEqual({ host: "127.0.0.1", port: 9443 });
  });
  test("refuses a missing or out-of-range port", () => {
    for (const bad of ["localhost", "host:0", "host:70000", "a:b:c"]) {
      expect(() => parseLocalOperator(bad)).toThrow(/--local-operator/);
    }
  });
});

describe("installOptionsFromFlags", () => {
  test("defaults as upstream: scone-system, report only, registry.scontain.com, bundled version", () => {
    const o = installOptionsFromFlags({});
    expect(o.namespace).toBe("scone-system");
    expect(o.mode).toBe("report");
    expect(o.imageRegistry).toBe("registry.scontain.com/scone.cloud");
    expect(o.version).toBe("6.0.6");
    expect(o.credentials).toBeUndefined();
    expect(o.sgxPlugin).toBe(true);
  });
  test("--update implies reconcile; --reconcile alone fixes", () => {
    expect(installOptionsFromFlags({ update: true }).mode).toBe("update");
    expect(installOptionsFromFlags({ reconcile: true }).mode).toBe("reconcile");
  });
  test("the pull secrets' registry follows --registry, else the host of --image-registry", () => {
    const creds = { username: "u", "access-token": "t", email: "e@x" };
    expect(installOptionsFromFlags(creds).credentials?.registry).toBe("registry.scontain.com");
    expect(installOptionsFromFlags({ ...creds, "image-registry": "mirror.local:5000/scone/" }).credentials).toEqual({
      registry: "mirror.local:5000",
      username: "u",
      accessToken: "t",
      email: "e@x",
    });
    expect(
      installOptionsFromFlags({ ...creds, "image-registry": "mirror.local/scone", registry: "other.io" }).credentials
        ?.registry,
    ).toBe("other.io");
  });
  test("--no-sgxplugin, --timeout, --local-operator", () => {
    const o = installOptionsFromFlags({ sgxplugin: false, timeout: "7", "local-operator": "127.0.0.1:1234" });
    expect(o.sgxPlugin).toBe(false);
    expect(o.timeoutSeconds).toBe(7);
    expect(o.localOperator).toEqual({ host: "127.0.0.1", port: 1234 });
  });
  test("--operator-node-selector is parsed like --node-selector, its errors name it, and it needs the Deployment", () => {
    expect(
      installOptionsFromFlags({ "operator-node-selector": "kubernetes.io/hostname=n1" }).operatorNodeSelector,
    ).toEqual({ "kubernetes.io/hostname": "n1" });
    expect(installOptionsFromFlags({}).operatorNodeSelector).toBeUndefined();
    expect(() => installOptionsFromFlags({ "operator-node-selector": 'a: "has space"' })).toThrow(
      /^--operator-node-selector: /,
    );
    expect(() =>
      installOptionsFromFlags({ "operator-node-selector": "a=b", "local-operator": "127.0.0.1:1234" }),
    ).toThrow(/--operator-node-selector places the operator Deployment/);
  });
  test("registryHostOf: Docker's rule for the first path component", () => {
    expect(registryHostOf("registry.scontain.com/scone.cloud")).toBe("registry.scontain.com");
    expect(registryHostOf("localhost/scone")).toBe("localhost");
    expect(registryHostOf("myorg/scone")).toBe("docker.io");
  });
});

describe("installOptionsFromFlags: values that reach image references and manifests are checked by their grammar", () => {
  test.each([
    ["image-registry", "mirror.local/scone\n  x: y"],
    ["image-prefix", "osc-\nkind: Pod"],
    ["registry", "mirror.local/scone"],
    ["set-version", "6.0.6\n"],
    ["operator-image", "op:1 --privileged"],
    ["namespace", "Scone"],
    ["create", "apps\n"],
  ])("--%s %j is refused naming the flag", (flag, value) => {
    expect(() => installOptionsFromFlags({ [flag]: value })).toThrow(InstallOptionError);
    expect(() => installOptionsFromFlags({ [flag]: value })).toThrow(` for --${flag}: `);
  });

  test("a DCAP key with a newline is refused without showing it", () => {
    expect(() => installOptionsFromFlags({ "dcap-api": "key\nmore" })).toThrow(
      /^invalid value for --dcap-api: expected an API key/,
    );
  });

  test("a mirror with scheme, port and trailing slash is accepted and normalized", () => {
    expect(installOptionsFromFlags({ "image-registry": "https://mirror.local:5000/scone/" }).imageRegistry).toBe(
      "mirror.local:5000/scone",
    );
  });
});
