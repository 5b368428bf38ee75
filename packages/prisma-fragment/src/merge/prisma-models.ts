export interface PrismaModel {
  name: string;
  /** Table it maps to: the `@@map` value, else the model name. */
  table: string;
  /** Body with comments dropped and white space folded, for shape comparison. */
  shape: string;
  /** Full source text of the block. */
  text: string;
}

/** The `model X { ... }` blocks of a schema.prisma text (a small scanner, not a full parser). */
export function parseModels(source: string): PrismaModel[] {
  const models: PrismaModel[] = [];
  const pattern = /^model\s+(\w+)\s*\{[\s\S]*?^\}/gm;
  for (const match of source.matchAll(pattern)) {
    const text = match[0];
    const shape = text
      .split("\n")
      .map((line) => line.replace(/\/\/.*$/, "").trim())
      .filter((line) => line.length > 0)
      .join("\n")
      .replace(/[ \t]+/g, " ");
    const table = /@@map\(\s*"([^"]+)"\s*\)/.exec(text)?.[1] ?? match[1]!;
    models.push({ name: match[1]!, table, shape, text });
  }
  return models;
}
