// The support bundle's assembly (pure): which objects belong to the CAS, that nothing secret gets in (a Secret-valued
// env var, a token in an annotation, a Secret's value echoed in a log or an Event, the CAS owner config) and the
// bounds on logs and Events.
import { describe, expect, test } from "bun:test";
import type { CoreV1Event } from "@kubernetes/client-node";
import {
  assembleBundle,
  EVENT_LIMIT,
  LOG_LIMIT_BYTES,
  type ReportInput,
  safeSegment,
  selectOwned,
  tailBytes,
} from "../../../../src/flows/report/bundle.ts";
import {
  looksLikeCredential,
  REDACTED,
  redactObject,
  SecretInBundleError,
  scrubText,
  secretValuesOf,
} from "../../../../src/flows/report/redact.ts";
import type { KubeObject } from "../../../../src/kube/types.ts";

const NS = "prod";
const SECRET_VALUE = "s3cr3t-Passw0rd-from-a-Secret";
const TOKEN = "ghp_0123456789abcdefABCDEF0123456789abcd";
const JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJlLXBhcnQ";

const owner = (o: KubeObject) => [
  { apiVersion: o.apiVersion ?? "", kind: o.kind ?? "", name: o.metadata?.name ?? "", uid: o.metadata?.uid ?? "" },
];
const cas: KubeObject & { spec: unknown } = {
  apiVersion: "services.scone.cloud/v1beta1",
  kind: "CAS",
  metadata: {
    name: "cas",
    namespace: NS,
    uid: "uid-cas",
    annotations: { "kubectl.kubernetes.io/last-applied-configuration": `{"spec":{"ownerConfig":"${SECRET_VALUE}"}}` },
  },
  spec: { ownerConfig: "[owner]\nkey = 1" },
};
const sts: KubeObject = {
  apiVersion: "apps/v1",
  kind: "StatefulSet",
  metadata: { name: "cas", namespace: NS, uid: "uid-sts", ownerReferences: owner(cas) },
};
const pod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name: "cas-0",
    namespace: NS,
    uid: "uid-pod",
    ownerReferences: owner(sts),
    annotations: { "example.com/registry-token": "short", "example.com/note": TOKEN, "example.com/plain": "hello" },
  },
  spec: {
    containers: [
      {
        name: "cas",
        args: ["--log-level", "info", `--bearer=${JWT}`],
        env: [
          { name: "DB_PASSWORD", value: SECRET_VALUE },
          { name: "SCONE_MODE", value: "hw" },
          { name: "UPLOAD", value: TOKEN },
          { name: "FROM_SECRET", valueFrom: { secretKeyRef: { name: "db", key: "password" } } },
        ],
      },
    ],
  },
};
const pvc: KubeObject = {
  apiVersion: "v1",
  kind: "PersistentVolumeClaim",
  metadata: { name: "database-cas-0", namespace: NS, uid: "uid-pvc" },
};
const stranger: KubeObject = {
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "other", namespace: NS, uid: "uid-x" },
};

const event = (name: string, uid: string, message: string, t: string): CoreV1Event => ({
  metadata: { name: `${name}.${t}` },
  involvedObject: { kind: "Pod", name, uid, namespace: NS },
  reason: "Test",
  message,
  lastTimestamp: new Date(t),
  type: "Normal",
});

function input(over: Partial<ReportInput> = {}): ReportInput {
  return {
    namespace: NS,
    name: "cas",
    createdAt: "2026-12-07T12:00:00.000Z",
    cas,
    candidates: [stranger, pod, pvc, sts],
    ownedByName: [{ kind: "PersistentVolumeClaim", name: "database-cas-0" }],
    operatorPods: [],
    events: [
      event("cas-0", "uid-pod", `pulled with ${SECRET_VALUE}`, "2026-12-07T11:00:00Z"),
      event("other", "uid-x", "not ours", "2026-12-07T11:00:01Z"),
    ],
    logs: [
      {
        namespace: NS,
        pod: "cas-0",
        container: "cas",
        previous: false,
        text: `start\nconnecting with ${SECRET_VALUE}\n`,
      },
      { namespace: NS, pod: "cas-0", container: "cas", previous: true, text: "crashed\n" },
      { namespace: NS, pod: "cas-0", container: "audit", previous: false, error: "the node serves no logs" },
    ],
    versions: { client: "0.1.0" },
    status: "CAS prod/cas\n",
    history: [],
    secretValues: secretValuesOf([{ data: { password: Buffer.from(SECRET_VALUE).toString("base64") } }]),
    notes: [],
    ...over,
  };
}

const fileOf = (files: { path: string; content: string }[], path: string) =>
  files.find((f) => f.path === path)?.content;

describe("selectOwned", () => {
  test("follows owner references transitively, adds the named PVCs, leaves others out", () => {
    const names = selectOwned(
      cas,
      [stranger, pod, pvc, sts],
      [{ kind: "PersistentVolumeClaim", name: "database-cas-0" }],
    ).map((o) => `${o.kind}/${o.metadata?.name}`);
    expect(names.sort()).toEqual(["PersistentVolumeClaim/database-cas-0", "Pod/cas-0", "StatefulSet/cas"]);
  });
});

describe("redaction", () => {
  test("a Secret-valued env var, a token in an annotation, a JWT argument and the CAS owner config are redacted", () => {
    const p = redactObject(pod) as typeof pod;
    const env = Object.fromEntries(p.spec.containers[0]?.env.map((e) => [e.name, e.value ?? e.valueFrom]) ?? []);
    expect(env).toEqual({
      DB_PASSWORD: REDACTED, // named like a secret
      SCONE_MODE: "hw",
      UPLOAD: REDACTED, // shaped like a token
      FROM_SECRET: { secretKeyRef: { name: "db", key: "password" } }, // a reference, not a value
    });
    expect(p.metadata.annotations).toEqual({
      "example.com/registry-token": REDACTED,
      "example.com/note": REDACTED,
      "example.com/plain": "hello",
    });
    expect(p.spec.containers[0]?.args).toEqual(["--log-level", "info", `--bearer=${REDACTED}`]);
    const c = redactObject(cas) as typeof cas;
    expect(c.spec).toEqual({ ownerConfig: REDACTED });
    expect(c.metadata?.annotations?.["kubectl.kubernetes.io/last-applied-configuration"]).toBe(REDACTED);
    // The originals are left alone (they may be shared).
    expect(pod.spec.containers[0]?.env[0]?.value).toBe(SECRET_VALUE);
  });

  test("a Secret is refused outright", () => {
    expect(() => redactObject({ apiVersion: "v1", kind: "Secret", metadata: { name: "db" } })).toThrow(
      SecretInBundleError,
    );
  });

  test("ConfigMap entries named or shaped like secrets are redacted, binary data never included", () => {
    const cm = redactObject({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "cas-config" },
      data: { "cas.toml": "[cas]\nport = 8081", api_key: "abc", blob: TOKEN },
      binaryData: { raw: "AAAA" },
    } as KubeObject) as KubeObject & { data: unknown; binaryData: unknown };
    expect(cm.data).toEqual({ "cas.toml": "[cas]\nport = 8081", api_key: REDACTED, blob: REDACTED });
    expect(cm.binaryData).toEqual({ raw: REDACTED });
  });

  test("credential shapes: private keys, JWTs, long mixed tokens; not plain words, versions or short values", () => {
    for (const yes of [TOKEN, JWT, "-----BEGIN EC PRIVATE KEY-----\nMHcCAQ\n-----END EC PRIVATE KEY-----"]) {
      expect({ yes, r: looksLikeCredential(yes) }).toEqual({ yes, r: true });
    }
    for (const no of ["hello world", "6.0.6", "registry.scontain.com/scone.cloud/cas:6.0.6", "true"]) {
      expect({ no, r: looksLikeCredential(no) }).toEqual({ no, r: false });
    }
  });

  test("known secret values are scrubbed from text, base64 form and each line of a multi-line value too", () => {
    const pem = "line-one-of-a-key\nline-two-of-a-key";
    const values = secretValuesOf([
      { data: { k: Buffer.from(pem).toString("base64"), short: Buffer.from("abc").toString("base64") } },
    ]);
    const text = scrubText(`a line-two-of-a-key b ${Buffer.from(pem).toString("base64")} abc`, values);
    expect(text).toBe(`a ${REDACTED} b ${REDACTED} abc`);
  });
});

describe("assembleBundle", () => {
  test("lays out objects, Events, logs, versions, status, history and a table of contents", () => {
    const { files, toc } = assembleBundle(input());
    expect(files.map((f) => f.path).sort()).toEqual([
      "events.yaml",
      "history.yaml",
      "logs/prod/cas-0/audit.error.txt",
      "logs/prod/cas-0/cas.log",
      "logs/prod/cas-0/cas.previous.log",
      "objects/CAS/cas.yaml",
      "objects/PersistentVolumeClaim/database-cas-0.yaml",
      "objects/Pod/cas-0.yaml",
      "objects/StatefulSet/cas.yaml",
      "status.txt",
      "toc.yaml",
      "versions.yaml",
    ]);
    expect(toc.files.map((f) => f.path)).not.toContain("toc.yaml");
    expect(toc.files.find((f) => f.path === "logs/prod/cas-0/cas.log")?.bytes).toBeGreaterThan(0);
    const events = fileOf(files, "events.yaml") ?? "";
    expect(events).toContain("Pod/cas-0");
    expect(events).not.toContain("not ours");
  });

  test("no Secret value appears in any file: logs, Events, env, annotations", () => {
    const { files } = assembleBundle(input());
    for (const f of files) {
      for (const secret of [SECRET_VALUE, TOKEN, JWT]) {
        expect({ path: f.path, leaks: f.content.includes(secret) }).toEqual({ path: f.path, leaks: false });
      }
    }
    expect(fileOf(files, "logs/prod/cas-0/cas.log")).toBe(`start\nconnecting with ${REDACTED}\n`);
  });

  test("logs are bounded to their newest LOG_LIMIT_BYTES, Events to the newest EVENT_LIMIT", () => {
    const line = `${"x".repeat(99)}\n`;
    const big = `first line\n${line.repeat(Math.ceil((LOG_LIMIT_BYTES * 1.5) / line.length))}last line\n`;
    const events = Array.from({ length: EVENT_LIMIT + 5 }, (_, i) =>
      event("cas-0", "uid-pod", `event ${i}`, new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString()),
    );
    const { files, toc } = assembleBundle(
      input({ logs: [{ namespace: NS, pod: "cas-0", container: "cas", previous: false, text: big }], events }),
    );
    const log = fileOf(files, "logs/prod/cas-0/cas.log") ?? "";
    expect(new TextEncoder().encode(log).length).toBeLessThanOrEqual(LOG_LIMIT_BYTES + 100);
    expect(log).toStartWith("[… ");
    expect(log).toEndWith("last line\n");
    expect(log).not.toContain("first line");
    expect(toc.files.find((f) => f.path === "logs/prod/cas-0/cas.log")?.what).toContain("(truncated)");
    const ev = fileOf(files, "events.yaml") ?? "";
    expect(ev).not.toContain("message: event 4\n");
    expect(ev).toContain(`message: event ${EVENT_LIMIT + 4}\n`);
  });

  test("path segments from cluster names cannot escape the bundle's directory", () => {
    expect([safeSegment(".."), safeSegment("."), safeSegment(""), safeSegment("a/../b"), safeSegment("cas-0")]).toEqual(
      ["__", "_", "_", "a_.._b", "cas-0"],
    );
  });

  test("tailBytes keeps short text whole", () => {
    expect(tailBytes("abc\n", 10)).toEqual({ text: "abc\n", truncated: false });
  });
});
