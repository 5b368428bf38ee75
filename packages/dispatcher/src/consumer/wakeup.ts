/** An interruptible sleep: `wake()` ends the current sleep, or the next one if none is running. */
export class Wakeup {
  private pending = false;
  private finish: (() => void) | undefined;

  wake(): void {
    this.pending = true;
    this.finish?.();
  }

  async sleep(ms: number): Promise<void> {
    if (!this.pending && ms > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => this.finish?.(), ms);
        this.finish = () => {
          clearTimeout(timer);
          this.finish = undefined;
          resolve();
        };
      });
    }
    this.pending = false;
  }
}
