import * as v from "valibot";
import { problem } from "./responses.js";

// Route inputs as valibot schemas. Every refusal has one shape: 400
// {"error":{"code":"INVALID_ARGUMENT","message":"<field> ...","field":"<field>"}}, for the first field at
// fault, in the order the schema lists them.

// Control characters (NUL among them) are refused in names; a note may hold tabs and line breaks.
const CONTROL = /[\u0000-\u001f\u007f]/;
const CONTROL_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const MAX_NAME_LENGTH = 200;

/** A missing key, or (in a strict object) a key the route does not take. */
export const keyMessage = (issue: v.BaseIssue<unknown>) =>
  issue.expected === "never" ? `${v.getDotPath(issue)} is not a field of this body` : `${v.getDotPath(issue)} is required`;

/** A required name (consumer, resolved_by, replayed_by): a non-empty string, no control characters, at most 200 characters. */
const name = (field: string) =>
  v.pipe(
    v.string(`${field} must be a string`),
    v.check((s) => !CONTROL.test(s), `${field} must not contain control characters`),
    v.check((s) => s.trim() !== "", `${field} is required`),
    v.maxLength(MAX_NAME_LENGTH, `${field} must be at most ${MAX_NAME_LENGTH} characters`),
  );

const flag = (field: string) => v.optional(v.picklist(["true", "false"], `${field} must be true or false`));

const LIMIT = "limit must be an integer from 1 to 1000";

/** GET {base}?consumer=&include_resolved=&limit=&group= */
export const listQuery = v.object(
  {
    consumer: name("consumer"),
    include_resolved: flag("include_resolved"),
    limit: v.optional(
      v.pipe(v.string(LIMIT), v.regex(/^\d{1,4}$/, LIMIT), v.transform(Number), v.minValue(1, LIMIT), v.maxValue(1000, LIMIT)),
    ),
    group: flag("group"),
  },
  keyMessage,
);

/** POST {base}/{id}/resolve */
export const resolveBody = v.strictObject(
  {
    resolved_by: name("resolved_by"),
    resolution_note: v.nullish(
      v.pipe(
        v.string("resolution_note must be a string"),
        v.check((s) => !CONTROL_IN_TEXT.test(s), "resolution_note must not contain control characters other than tabs and line breaks"),
      ),
    ),
  },
  keyMessage,
);

/** POST {base}/{id}/replay */
export const replayBody = v.strictObject({ replayed_by: name("replayed_by") }, keyMessage);

/** The schema's output, or the 400 naming the first field at fault. */
export function validate<S extends v.GenericSchema>(schema: S, input: unknown): v.InferOutput<S> | Response {
  const result = v.safeParse(schema, input, { abortEarly: true, abortPipeEarly: true });
  if (result.success) return result.output;
  const issue = result.issues[0];
  return problem(400, "INVALID_ARGUMENT", issue.message, v.getDotPath(issue) ?? undefined);
}

/**
 * The query parameters `names` as an object for a schema (others are ignored). One given more than
 * once is refused: which of the values a route would use is not for the client to guess.
 */
export function queryInput(url: URL, names: readonly string[]): Record<string, string> | Response {
  const input: Record<string, string> = {};
  for (const key of names) {
    const values = url.searchParams.getAll(key);
    if (values.length > 1) return problem(400, "INVALID_ARGUMENT", `${key} must be given once`, key);
    if (values.length === 1) input[key] = values[0]!;
  }
  return input;
}

/** A JSON body as a schema's input: `{}` when empty; 400 INVALID_JSON unless a JSON object. */
export function jsonObject(text: string): Record<string, unknown> | Response {
  if (text.trim() === "") return {};
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  return problem(400, "INVALID_JSON", "the body must be a JSON object");
}
