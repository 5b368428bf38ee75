import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseEnv } from "node:util";

/**
 * When DATABASE_URL is not set (or empty), takes it from a `.env` file in the current directory, as
 * the `prisma init` layout leads a team to expect. Only DATABASE_URL is read from the file, and a
 * variable set in the environment always wins over it. No `.env` is fine; one that cannot be read
 * (a directory, no permission) throws with the reason.
 */
export function databaseUrlFromDotEnv(directory = process.cwd()): void {
  if (process.env["DATABASE_URL"]) return;
  let text: string;
  try {
    text = readFileSync(join(directory, ".env"), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw new Error(`cannot read ${join(directory, ".env")}: ${(error as Error).message}`);
  }
  const url = parseEnv(text)["DATABASE_URL"];
  if (url) process.env["DATABASE_URL"] = url;
}
