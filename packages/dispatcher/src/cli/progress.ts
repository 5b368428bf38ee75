/** Where progress goes: process.stderr, or anything with write (and isTTY when it is a terminal). */
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

/**
 * A progress line on stderr for long work (prune, a group replay, fanout-drain), never on stdout,
 * so `--json` output stays parseable. On a terminal it is one line rewritten in place and cleared
 * when the work ends; elsewhere it is silent unless asked for (`--progress`), then one plain line
 * per change. `--no-progress` silences it everywhere. The same line twice in a row is written once.
 */
export class Progress {
  private last: string | undefined;
  private shown = false;
  readonly mode: "tty" | "lines" | "off";

  constructor(
    private readonly stream: ProgressStream,
    wanted: boolean | undefined,
  ) {
    this.mode = wanted === false ? "off" : stream.isTTY ? "tty" : wanted ? "lines" : "off";
  }

  update(line: string): void {
    if (this.mode === "off" || line === this.last) return;
    this.last = line;
    if (this.mode === "lines") {
      this.stream.write(`${line}\n`);
      return;
    }
    this.stream.write(`\r\x1b[2K${line}`);
    this.shown = true;
  }

  /** Ends the work: clears the terminal line (the result follows on stdout). */
  done(): void {
    if (this.shown) this.stream.write("\r\x1b[2K");
    this.shown = false;
    this.last = undefined;
  }
}
