import { afterEach, describe, expect, test } from "bun:test";
import { GoneError } from "../../../src/kube/errors.ts";
import { diffRelist, Informer, type InformerHealth, type ListWatch } from "../../../src/kube/informer.ts";
import type { KubeLogger, WatchEvent } from "../../../src/kube/types.ts";

interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    managedFields?: { manager?: string }[];
  };
  data?: string;
}

const obj = (name: string, rv: string, uid = `uid-${name}`, data?: string): Obj => ({
  metadata: { name, namespace: "ns", uid, resourceVersion: rv },
  ...(data ? { data } : {}),
});

const quiet: KubeLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Polls until `cond` holds; the limit is generous because a loaded CI machine may stall this process for seconds. */
async function waitFor(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(5);
  }
}

type Step = WatchEvent<Obj> | Error | "end";

/** A scripted API: list answers `listResult`; each watch() consumes steps the test pushes. */
class FakeListWatch implements ListWatch<Obj> {
  listResult: { items: Obj[]; resourceVersion: string } = { items: [], resourceVersion: "1" };
  listCalls = 0;
  watchFrom: string[] = [];
  private steps: Step[] = [];
  private wake: (() => void) | undefined;
  /** While set, every watch fails with it before opening (as a refused connection does). */
  openError: Error | undefined;
  /** Called when the informer asks for the next event, i.e. once it has applied the one before. */
  onConsumed: ((step: WatchEvent<Obj>) => void) | undefined;

  listError: Error | undefined;
  goneForever = false;

  async list() {
    this.listCalls++;
    if (this.listError) throw this.listError;
    return structuredClone(this.listResult);
  }

  push(...steps: Step[]) {
    this.steps.push(...steps);
    this.wake?.();
  }

  async *watch(rv: string, o: { signal: AbortSignal; timeoutSeconds: number; onOpen: () => void }) {
    this.watchFrom.push(rv);
    if (this.goneForever)
      throw new GoneError({ code: 410, reason: "Expired", message: "too old" }, { method: "WATCH", path: "/x" });
    if (this.openError) throw this.openError;
    o.onOpen();
    for (;;) {
      if (o.signal.aborted) throw o.signal.reason;
      const step = this.steps.shift();
      if (step === undefined) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          o.signal.addEventListener("abort", () => resolve(), { once: true });
        });
        continue;
      }
      if (step === "end") return;
      if (step instanceof Error) throw step;
      yield structuredClone(step);
      this.onConsumed?.(step);
    }
  }
}

function record(inf: Informer<Obj>): string[] {
  const log: string[] = [];
  inf.addHandlers({
    add: (o) => log.push(`add ${o.metadata.name}@${o.metadata.resourceVersion}`),
    update: (a, b) =>
      log.push(`update ${b.metadata.name}@${a.metadata.resourceVersion}->${b.metadata.resourceVersion}`),
    delete: (o) => log.push(`delete ${o.metadata.name}@${o.metadata.resourceVersion}`),
  });
  return log;
}

let running: Informer<Obj>[] = [];
afterEach(async () => {
  await Promise.all(running.map((i) => i.stop()));
  running = [];
});

function start(lw: FakeListWatch, opts: ConstructorParameters<typeof Informer<Obj>>[1] = {}) {
  const inf = new Informer<Obj>(lw, { logger: quiet, backoffInitialMs: 1, backoffMaxMs: 5, ...opts });
  const log = record(inf);
  inf.start();
  running.push(inf);
  return { inf, log };
}

describe("diffRelist", () => {
  test("vanished objects are deleted, new ones added, changed ones updated, unchanged ones silent", () => {
    const cache = new Map([
      ["ns/a", obj("a", "1")],
      ["ns/b", obj("b", "1")],
      ["ns/c", obj("c", "1")],
    ]);
    const diff = diffRelist(cache, [obj("a", "1"), obj("c", "5"), obj("d", "6")]);
    expect(diff.deleted.map((o) => o.metadata.name)).toEqual(["b"]);
    expect(diff.added.map((o) => o.metadata.name)).toEqual(["d"]);
    expect(diff.updated.map(([o, n]) => `${o.metadata.resourceVersion}->${n.metadata.resourceVersion}`)).toEqual([
      "1->5",
    ]);
  });

  test("same name with a new uid (deleted and recreated meanwhile) is a delete plus an add", () => {
    const cache = new Map([["ns/a", obj("a", "1", "old")]]);
    const diff = diffRelist(cache, [obj("a", "9", "new")]);
    expect(diff.deleted.map((o) => o.metadata.uid)).toEqual(["old"]);
    expect(diff.added.map((o) => o.metadata.uid)).toEqual(["new"]);
    expect(diff.updated).toEqual([]);
  });
});

describe("Informer", () => {
  test("lists, syncs, then applies watch events from the list's resourceVersion", async () => {
    const lw = new FakeListWatch();
    lw.listResult = { items: [obj("a", "1"), obj("b", "2")], resourceVersion: "2" };
    const { inf, log } = start(lw);
    await inf.waitForSync();
    expect(inf.hasSynced()).toBe(true);
    await waitFor(() => lw.watchFrom.length === 1, "watch");
    expect(lw.watchFrom).toEqual(["2"]);
    lw.push(
      { type: "ADDED", object: obj("c", "3") },
      { type: "MODIFIED", object: obj("a", "4") },
      { type: "DELETED", object: obj("b", "5") },
      { type: "BOOKMARK", object: { metadata: { name: "", resourceVersion: "9" } } },
      "end",
    );
    await waitFor(() => lw.watchFrom.length === 2, "resumed watch");
    expect(lw.watchFrom[1]).toBe("9"); // the bookmark advanced the resume point
    expect(log).toEqual(["add a@1", "add b@2", "add c@3", "update a@1->4", "delete b@5"]);
    expect(
      inf
        .list()
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(["a", "c"]);
    expect(inf.get("ns", "a")?.metadata.resourceVersion).toBe("4");
    expect(inf.health()).toMatchObject({ healthy: true, synced: true, objects: 2, resourceVersion: "9" });
    expect(lw.listCalls).toBe(1);
  });

  test("410 Gone relists and emits exactly what changed while the watch was lost", async () => {
    const lw = new FakeListWatch();
    lw.listResult = {
      items: [obj("keep", "1"), obj("gone", "1"), obj("same", "1"), obj("recreated", "1", "u1")],
      resourceVersion: "1",
    };
    const { inf, log } = start(lw);
    await inf.waitForSync();
    log.length = 0;
    lw.listResult = {
      items: [obj("keep", "7"), obj("same", "1"), obj("recreated", "8", "u2"), obj("new", "9")],
      resourceVersion: "10",
    };
    lw.push(new GoneError({ code: 410, reason: "Expired" }, { method: "WATCH", path: "/x" }));
    await waitFor(() => lw.watchFrom.length === 2, "watch after relist");
    expect(lw.listCalls).toBe(2);
    expect(lw.watchFrom[1]).toBe("10");
    expect(log).toEqual(["delete recreated@1", "delete gone@1", "add recreated@8", "add new@9", "update keep@1->7"]);
    // A DELETED for something the relist already removed must not be reported twice.
    lw.push({ type: "DELETED", object: obj("gone", "11") }, { type: "ADDED", object: obj("new", "12") });
    await waitFor(() => log.length === 6, "post-relist event");
    expect(log.at(-1)).toBe("update new@9->12");
    expect(inf.health().relists).toBe(2);
  });

  test("a failing watch shows in health() and is retried until it works again", async () => {
    const lw = new FakeListWatch();
    // Watches fail until the test says otherwise, however many retries the backoff fits in before it looks.
    lw.openError = new Error("connect ECONNREFUSED 127.0.0.1:6443");
    const { inf } = start(lw, { backoffInitialMs: 20, backoffMaxMs: 20 });
    await inf.waitForSync();
    await waitFor(() => inf.health().consecutiveFailures >= 2, "two failures");
    const h = inf.health();
    expect(h.healthy).toBe(false);
    expect(h.reason).toContain("ECONNREFUSED");
    lw.openError = undefined;
    lw.push({ type: "ADDED", object: obj("x", "2") });
    await waitFor(() => inf.health().healthy && inf.get("ns", "x") !== undefined, "recovery");
    expect(inf.health().consecutiveFailures).toBe(0);
  });

  test("a failing initial list is reported as such and retried", async () => {
    const lw = new FakeListWatch();
    lw.listError = new Error("connect ECONNREFUSED");
    const { inf } = start(lw);
    await waitFor(() => lw.listCalls >= 2, "list retry");
    expect(inf.health()).toMatchObject({ healthy: false, synced: false });
    expect(inf.health().reason).toMatch(/^list failing \(\d+x\): connect ECONNREFUSED/);
    lw.listError = undefined;
    await inf.waitForSync();
    expect(inf.health().healthy).toBe(true);
  });

  test("410 right after every relist backs off and shows in health() instead of spinning silently", async () => {
    const lw = new FakeListWatch();
    lw.goneForever = true;
    const { inf } = start(lw, { backoffInitialMs: 50, backoffMaxMs: 50 });
    await waitFor(() => inf.health().consecutiveFailures >= 2, "repeated 410s");
    expect(inf.health().reason).toMatch(/^watch failing .*too old/);
  });

  test("a watch that goes silent is restarted and reported until an event arrives", async () => {
    const lw = new FakeListWatch();
    const { inf } = start(lw, { staleAfterMs: 60 });
    await inf.waitForSync();
    await waitFor(() => lw.watchFrom.length >= 2, "watch restart");
    expect(inf.health().healthy).toBe(false);
    expect(inf.health().reason).toMatch(/^stale watch: no event or bookmark/);
    expect(inf.health().watchRestarts).toBeGreaterThanOrEqual(1);
    // Health is read the moment the bookmark has been applied: polling for it could miss that window, since with
    // no further events the next stale restart (60 ms later) reports the watch again.
    let afterBookmark: InformerHealth | undefined;
    lw.onConsumed = (step) => {
      if (step.type === "BOOKMARK") afterBookmark ??= inf.health();
    };
    lw.push({ type: "BOOKMARK", object: { metadata: { name: "", resourceVersion: "5" } } });
    await waitFor(() => afterBookmark !== undefined, "the bookmark to be applied");
    expect(afterBookmark).toMatchObject({ healthy: true, resourceVersion: "5" });
  });

  test("a throwing handler does not stop other handlers or the informer", async () => {
    const lw = new FakeListWatch();
    const inf = new Informer<Obj>(lw, { logger: quiet });
    inf.addHandlers({
      add: () => {
        throw new Error("bug");
      },
    });
    const log = record(inf);
    inf.start();
    running.push(inf);
    await inf.waitForSync();
    lw.push({ type: "ADDED", object: obj("a", "2") }, { type: "ADDED", object: obj("b", "3") });
    await waitFor(() => log.length === 2, "both adds");
    expect(log).toEqual(["add a@2", "add b@3"]);
  });

  test("resync re-emits update(obj, obj) for cached objects; late handlers get adds for the cache", async () => {
    const lw = new FakeListWatch();
    lw.listResult = { items: [obj("a", "1")], resourceVersion: "1" };
    const { inf, log } = start(lw, { resyncMs: 20 });
    await inf.waitForSync();
    await waitFor(() => log.includes("update a@1->1"), "resync");
    const late: string[] = [];
    inf.addHandlers({ add: (o) => late.push(o.metadata.name) });
    expect(late).toEqual(["a"]);
  });

  test("list(namespace) holds exactly that namespace's objects through adds, updates, deletes and relists", async () => {
    const inNs = (name: string, namespace: string, rv: string, uid = `uid-${namespace}-${name}`): Obj => ({
      metadata: { name, namespace, uid, resourceVersion: rv },
    });
    const lw = new FakeListWatch();
    lw.listResult = {
      items: [inNs("a", "one", "1"), inNs("b", "one", "1"), inNs("a", "two", "1"), inNs("gone", "three", "1")],
      resourceVersion: "1",
    };
    const { inf, log } = start(lw);
    await inf.waitForSync();
    const names = (ns: string) => inf.list(ns).map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`);
    expect(names("one")).toEqual(["a@1", "b@1"]);
    expect(names("two")).toEqual(["a@1"]);
    expect(names("elsewhere")).toEqual([]);
    lw.push(
      { type: "ADDED", object: inNs("c", "two", "2") },
      { type: "MODIFIED", object: inNs("a", "one", "3") },
      { type: "DELETED", object: inNs("b", "one", "4") },
      // Same name, new uid: deleted and recreated meanwhile.
      { type: "MODIFIED", object: inNs("a", "two", "5", "other-uid") },
    );
    await waitFor(() => log.length === 9, "four watch events");
    expect(names("one")).toEqual(["a@3"]);
    expect(names("two")).toEqual(["a@5", "c@2"]);
    // A relist that no longer has namespace three's object, and has a new one in a new namespace.
    lw.listResult = {
      items: [inNs("a", "one", "3"), inNs("a", "two", "5", "other-uid"), inNs("c", "two", "2"), inNs("d", "four", "6")],
      resourceVersion: "6",
    };
    lw.push(new GoneError({ code: 410, reason: "Expired" }, { method: "WATCH", path: "/x" }));
    await waitFor(() => lw.listCalls === 2 && log.at(-1) === "add d@6", "relist");
    expect(names("three")).toEqual([]);
    expect(names("four")).toEqual(["d@6"]);
    // list() without a namespace is every object, list(namespace) a part of it.
    expect(inf.list().length).toBe(4);
    expect(["one", "two", "three", "four"].flatMap((ns) => inf.list(ns)).length).toBe(4);
  });

  test("stripManagedFields and transform shape what is cached", async () => {
    const lw = new FakeListWatch();
    const withFields = obj("a", "1");
    withFields.metadata.managedFields = [{ manager: "kubectl" }];
    lw.listResult = { items: [withFields], resourceVersion: "1" };
    const { inf } = start(lw, { stripManagedFields: true, transform: (o) => ({ ...o, data: "t" }) });
    await inf.waitForSync();
    expect(inf.get("ns/a")?.metadata.managedFields).toBeUndefined();
    expect(inf.get("ns/a")?.data).toBe("t");
  });

  test("health before start and after stop says so", async () => {
    const lw = new FakeListWatch();
    const inf = new Informer<Obj>(lw, { logger: quiet });
    expect(inf.health()).toMatchObject({ healthy: false, reason: "stopped" });
    inf.start();
    await inf.waitForSync();
    expect(inf.health().healthy).toBe(true);
    await inf.stop();
    expect(inf.health()).toMatchObject({ healthy: false, reason: "stopped" });
  });
});
