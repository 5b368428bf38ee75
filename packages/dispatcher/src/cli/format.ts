/** A plain text table for a terminal: header, then one padded row per record. */
export function table(headers: string[], rows: Array<Array<string | number | null | undefined>>): string {
  const cells = rows.map((row) => row.map((cell) => (cell === null || cell === undefined ? "-" : String(cell))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(headers), ...cells.map(line)].join("\n");
}

export const iso = (d: Date | null | undefined) => (d ? d.toISOString().replace(/\.\d{3}Z$/, "Z") : null);

/** "label: value" lines; a value of several lines follows its "label:" line, indented by two spaces. */
export function labeled(fields: Array<[string, string | number | null | undefined]>): string {
  return fields
    .map(([label, value]) => {
      const text = value === null || value === undefined || value === "" ? "-" : String(value);
      return text.includes("\n") ? `${label}:\n${text.replace(/^/gm, "  ")}` : `${label}: ${text}`;
    })
    .join("\n");
}
