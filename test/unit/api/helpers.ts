// A complete API on a temporary store: one token per scope, a fake informer cache, an executor with the given
// runners, a controllable clock. Requests go through app.request(), no socket.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApiApp } from "../../../src/api/app.ts";
import { type Confinement, confinement } from "../../../src/api/operations/confine.ts";
import { OperationExecutor } from "../../../src/api/operations/executor.ts";
import { sqliteOperationRecords } from "../../../src/api/operations/records.ts";
import type { OperationRunners } from "../../../src/api/operations/runner.ts";
import type { ResourceCache } from "../../../src/api/resource-cache.ts";
import type { AccessReviewer } from "../../../src/kube/access-review.ts";
import type { KubeObject } from "../../../src/kube/types.ts";
import { createLogger, type Logger } from "../../../src/log.ts";
import type { SconeKind } from "../../../src/resources/kinds.ts";
import { openStore, type Store } from "../../../src/store/open.ts";
import type { TokenScope } from "../../../src/store/schema.ts";
import { createToken } from "../../../src/store/tokens.ts";

export const quietLog: Logger = createLogger({ level: "error", sink: { write() {} } });

/** A cache whose contents and sync state the test sets. */
export class FakeCache implements ResourceCache {
  readonly objects = new Map<SconeKind, KubeObject[]>();
  unsynced = new Set<SconeKind>();
  failWith: Error | undefined;
  notReady(kind: SconeKind): string | undefined {
    return this.unsynced.has(kind) ? `the ${kind} cache has not synced yet` : undefined;
  }
  list(kind: SconeKind): readonly KubeObject[] {
    if (this.failWith) throw this.failWith;
    return this.objects.get(kind) ?? [];
  }
  get(kind: SconeKind, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.list(kind).find((o) => o.metadata?.name === name && o.metadata?.namespace === namespace);
  }
  add(kind: SconeKind, obj: KubeObject): void {
    this.objects.set(kind, [...(this.objects.get(kind) ?? []), obj]);
  }
}

export interface TestApi {
  /** The state directory (the default backup root is its backups/). */
  dir: string;
  store: Store;
  app: ReturnType<typeof createApiApp>;
  executor: OperationExecutor;
  cache: FakeCache;
  tokens: Record<TokenScope, string>;
  clock: { now: number };
  errors: string[];
  /** Access-log lines (JSON fields), one per request. */
  requests: string[];
  request(
    path: string,
    init?: { token?: string; method?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<Response>;
  close(): Promise<void>;
}

export function testApi(
  opts: {
    runners?: OperationRunners;
    cache?: boolean;
    stateDir?: string;
    confine?: Confinement;
    /** --kube-auth: Kubernetes tokens reviewed by this reviewer instead of the token table. */
    reviewer?: AccessReviewer;
  } = {},
): TestApi {
  const dir = opts.stateDir ?? mkdtempSync(join(tmpdir(), "scone-api-unit-"));
  // As `scone api` does by default: local backups under <state-dir>/backups, no S3.
  const confine = opts.confine ?? confinement({ backupRoot: join(dir, "backups") });
  const store = openStore({ stateDir: dir });
  const clock = { now: Date.parse("2026-11-23T10:00:00Z") };
  const tokens = {} as Record<TokenScope, string>;
  for (const scope of ["read", "operate", "admin"] as const) {
    tokens[scope] = createToken(store.db, { name: `t-${scope}`, scope, now: clock.now }).token;
  }
  const cache = new FakeCache();
  const executor = new OperationExecutor(
    sqliteOperationRecords(store.db),
    opts.runners ?? {},
    quietLog,
    () => clock.now,
  );
  const errors: string[] = [];
  const requests: string[] = [];
  const app = createApiApp({
    readiness: { checks: () => ({ store: { ok: true } }) },
    log: {
      error: (msg, fields) => errors.push(`${msg} ${JSON.stringify(fields)}`),
      debug: (_msg, fields) => requests.push(JSON.stringify(fields)),
      isEnabled: () => true,
    },
    v1: {
      db: store.db,
      executor,
      now: () => clock.now,
      confine,
      ...(opts.cache === false ? {} : { resources: cache }),
      ...(opts.reviewer ? { reviewer: opts.reviewer } : {}),
    },
  });
  return {
    dir,
    store,
    app,
    executor,
    cache,
    tokens,
    clock,
    errors,
    requests,
    request: (path, init = {}) => {
      const headers: Record<string, string> = { ...init.headers };
      if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
      let body: string | undefined;
      if (init.body !== undefined) {
        body = typeof init.body === "string" ? init.body : JSON.stringify(init.body);
        headers["content-type"] ??= "application/json";
      }
      return Promise.resolve(app.request(path, { method: init.method ?? "GET", headers, ...(body ? { body } : {}) }));
    },
    close: async () => {
      await executor.stop();
      store.close();
      if (!opts.stateDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function problemOf(
  res: Response,
): Promise<{ status: number; title: string; detail?: string; errors?: { field: string; message: string }[] }> {
  if (res.headers.get("content-type") !== "application/problem+json") {
    throw new Error(`expected a problem, got ${res.status} ${res.headers.get("content-type")}: ${await res.text()}`);
  }
  return res.json() as never;
}
