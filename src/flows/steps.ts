// A small runner for long operations made of resumable steps (provision, upgrade, restore). Each step says whether
// its effect is already in the world (`done`, decided by OBSERVING the cluster / the CAS, not by a local record) and
// how to bring it about (`run`). A rerun after a crash therefore continues where the world is, and a step whose
// effect happened is never repeated — even when the crash came after the effect but before the journal was written.
// The journal (a JSON file) only reports progress: which steps ran, were skipped, failed, and how long they took.
import { readFile } from "node:fs/promises";
import { writePrivateFile } from "../runtime/private-file.ts";

export interface Step<C> {
  /** Stable identifier (journal, `-o json`), e.g. "create-cas". */
  readonly name: string;
  /** What a person reads, e.g. "Create the unprovisioned CAS". */
  readonly title: string;
  /**
   * The step only observes (reads the world into the context, no effect): it runs on every run, also when a
   * record elsewhere (an operation store) says it ran before, because later steps need what it observed.
   */
  readonly observes?: boolean;
  /**
   * Whether the effect is observed already. A string means "done" and says what was seen (shown as the skip reason).
   * Steps that only observe (no effect) return false and always run.
   */
  done(ctx: C): Promise<boolean | string>;
  /** Brings the effect about; may return a short detail for the report (never a secret). */
  run(ctx: C): Promise<string | undefined>;
}

export type StepOutcome = "done" | "skipped" | "failed";

export interface StepRecord {
  readonly name: string;
  readonly title: string;
  readonly outcome: StepOutcome;
  /** Why skipped, what was done, or the error message. */
  readonly detail?: string;
  readonly startedAt: string;
  readonly elapsedMs: number;
}

export interface StepsProgress {
  /** A step starts (its `done` predicate is about to be evaluated). */
  start?(step: { name: string; title: string }): void;
  finish?(record: StepRecord): void;
}

export interface RunStepsOptions {
  readonly journal?: Journal;
  readonly progress?: StepsProgress;
  readonly now?: () => Date;
  /** Cancels between steps (a running step finishes or fails on its own; its effect is observed next time). */
  readonly signal?: AbortSignal;
}

export interface StepsResult {
  readonly ok: boolean;
  readonly steps: readonly StepRecord[];
  /** The first failure, rethrown by the caller when it wants to. */
  readonly error?: unknown;
}

export class StepsCancelledError extends Error {
  override readonly name = "StepsCancelledError";
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Runs the steps in order; stops at the first failure (recorded, returned in `error`). */
export async function runSteps<C>(
  steps: readonly Step<C>[],
  ctx: C,
  options: RunStepsOptions = {},
): Promise<StepsResult> {
  const now = options.now ?? (() => new Date());
  const records: StepRecord[] = [];
  for (const step of steps) {
    if (options.signal?.aborted) {
      return { ok: false, steps: records, error: new StepsCancelledError(`cancelled before step ${step.name}`) };
    }
    const started = now();
    const t0 = performance.now();
    options.progress?.start?.({ name: step.name, title: step.title });
    await options.journal?.begin(step.name, started);
    const finish = async (outcome: StepOutcome, detail?: string): Promise<StepRecord> => {
      const record: StepRecord = {
        name: step.name,
        title: step.title,
        outcome,
        ...(detail ? { detail } : {}),
        startedAt: started.toISOString(),
        elapsedMs: Math.round(performance.now() - t0),
      };
      records.push(record);
      await options.journal?.end(record);
      options.progress?.finish?.(record);
      return record;
    };
    try {
      const seen = await step.done(ctx);
      if (seen !== false) {
        await finish("skipped", typeof seen === "string" ? seen : "already done");
        continue;
      }
      const detail = await step.run(ctx);
      await finish("done", typeof detail === "string" ? detail : undefined);
    } catch (err) {
      await finish("failed", message(err));
      return { ok: false, steps: records, error: err };
    }
  }
  return { ok: true, steps: records };
}

// ---- journal ---------------------------------------------------------------------------------------------------------

export interface JournalEntry {
  readonly name: string;
  readonly startedAt: string;
  /** Absent while the step runs (or when the run died during it). */
  readonly outcome?: StepOutcome;
  readonly detail?: string;
  readonly elapsedMs?: number;
}

export interface JournalDocument {
  readonly operation: string;
  /** One entry per attempt of a step, in order, across runs. */
  readonly entries: readonly JournalEntry[];
}

/**
 * Progress of an operation in a JSON file, rewritten atomically after each change. Never consulted to decide what to
 * run (the steps observe the world); a reader sees which steps ran in which run and where a run died.
 */
export class Journal {
  private doc: { operation: string; entries: JournalEntry[] };

  private constructor(
    readonly path: string,
    doc: JournalDocument,
  ) {
    this.doc = { operation: doc.operation, entries: [...doc.entries] };
  }

  /** Opens the journal at `path`, keeping earlier runs' entries of the same operation. */
  static async open(path: string, operation: string): Promise<Journal> {
    const earlier = await readJournal(path);
    return new Journal(path, earlier && earlier.operation === operation ? earlier : { operation, entries: [] });
  }

  get entries(): readonly JournalEntry[] {
    return this.doc.entries;
  }

  async begin(name: string, at: Date): Promise<void> {
    this.doc.entries.push({ name, startedAt: at.toISOString() });
    await this.save();
  }

  async end(record: StepRecord): Promise<void> {
    const i = this.doc.entries.findLastIndex((e) => e.name === record.name && e.outcome === undefined);
    const entry: JournalEntry = {
      name: record.name,
      startedAt: record.startedAt,
      outcome: record.outcome,
      ...(record.detail ? { detail: record.detail } : {}),
      elapsedMs: record.elapsedMs,
    };
    if (i >= 0) this.doc.entries[i] = entry;
    else this.doc.entries.push(entry);
    await this.save();
  }

  private async save(): Promise<void> {
    await writePrivateFile(this.path, `${JSON.stringify(this.doc, null, 2)}\n`);
  }
}

/** The journal at `path`, or undefined when there is none (or it is unreadable: it is only a report). */
export async function readJournal(path: string): Promise<JournalDocument | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return undefined;
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (
      typeof value === "object" &&
      value !== null &&
      typeof (value as { operation?: unknown }).operation === "string" &&
      Array.isArray((value as { entries?: unknown }).entries)
    ) {
      return value as JournalDocument;
    }
  } catch {
    // a torn or foreign file: start a new journal
  }
  return undefined;
}

/** How many times each step reached `outcome` over all runs in the journal (for reports and tests). */
export function countOutcomes(doc: JournalDocument, outcome: StepOutcome): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of doc.entries) if (e.outcome === outcome) counts[e.name] = (counts[e.name] ?? 0) + 1;
  return counts;
}
