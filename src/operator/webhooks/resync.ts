// Runs one check at a time, again on request and on a timer: a request during a run causes exactly one more run
// after it; after each series the next run is scheduled at the delay the caller computes from its outcome.
export class Resync {
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly run: () => Promise<void>,
    /** The wait before the next run, asked after each series of runs. */
    private readonly nextDelayMs: () => number,
  ) {}

  /** Runs now (or once more after the current run); resolves when that run is done. */
  trigger(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.series();
    return this.running;
  }

  /** `run` records its own failures (the delay reads them); one that throws still frees the next trigger. */
  private async series(): Promise<void> {
    try {
      do {
        this.again = false;
        await this.run();
      } while (this.again && !this.stopped);
    } finally {
      this.running = undefined;
    }
    this.schedule(this.nextDelayMs());
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.trigger(), Math.max(ms, 0));
    this.timer.unref?.();
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** No more runs; resolves when the current one is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
