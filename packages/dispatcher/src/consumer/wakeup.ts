/**
 * An interruptible sleep: `wake()` ends the current sleep, or the next one if none is running.
 * `sleep` resolves to true when it ran to its timeout, false when a wake ended it.
 */
export class Wakeup {
  private pending = false;
  private finish: (() => void) | undefined;

  wake(): void {
    this.pending = true;
    this.finish?.();
  }

  async sleep(ms: number): Promise<boolean> {
    let timedOut = false;
    if (!this.pending && ms > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          timedOut = true;
          this.finish?.();
        }, ms);
        this.finish = () => {
          clearTimeout(timer);
          this.finish = undefined;
          resolve();
        };
      });
    }
    this.pending = false;
    return timedOut;
  }
}
