import * as v from "valibot";
import { keyMessage } from "../http/input.js";

// The console's query parameters, path segments and bodies as valibot schemas. Fields are spelled
// as the API spells them (camelCase); a refusal is 400 INVALID_ARGUMENT naming the first field at
// fault (http/input.ts `validate`). Bodies are strict: a key the route does not take is refused.

const CONTROL = /[\u0000-\u001f\u007f]/;
const CONTROL_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const MAX_NAME_LENGTH = 200;

/** A required name (an operator, a consumer, an event type, an id): non-empty, no control characters, at most 200 characters. */
export const name = (field: string) =>
  v.pipe(
    v.string(`${field} must be a string`),
    v.check((s) => !CONTROL.test(s), `${field} must not contain control characters`),
    v.check((s) => s.trim() !== "", `${field} is required`),
    v.maxLength(MAX_NAME_LENGTH, `${field} must be at most ${MAX_NAME_LENGTH} characters`),
  );

const note = v.nullish(
  v.pipe(
    v.string("note must be a string"),
    v.check((s) => !CONTROL_IN_TEXT.test(s), "note must not contain control characters other than tabs and line breaks"),
    v.maxLength(4000, "note must be at most 4000 characters"),
  ),
);

const FINGERPRINT = "fingerprint must be 16 hex digits";
export const fingerprint = v.pipe(v.string(FINGERPRINT), v.regex(/^[0-9a-f]{16}$/, FINGERPRINT));

const flag = (field: string) => v.optional(v.picklist(["true", "false"], `${field} must be true or false`));

const integer = (field: string, max: number) => {
  const message = `${field} must be an integer from 1 to ${max}`;
  return v.optional(
    v.pipe(v.string(message), v.regex(/^\d{1,4}$/, message), v.transform(Number), v.minValue(1, message), v.maxValue(max, message)),
  );
};

/**
 * An ISO 8601 time with its zone (`2026-12-02T10:00:00Z`, `...+01:00`, fractions allowed), or a date
 * (`2026-12-02`, midnight UTC). A time without a zone is refused: whose clock it means is not for the server to guess.
 */
const time = (field: string) => {
  const message = `${field} must be an ISO time with its zone, such as 2026-12-02T10:00:00Z`;
  return v.optional(
    v.pipe(
      v.string(message),
      v.regex(/^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2}))?$/i, message),
      v.check((s) => !Number.isNaN(Date.parse(s)), message),
      v.transform((s) => new Date(s)),
    ),
  );
};

export const by = name("by");

export const pauseBody = v.strictObject({ by, eventType: v.optional(name("eventType")) }, keyMessage);

export const rewindBody = v.strictObject(
  { by, to: name("to"), eventType: v.optional(name("eventType")), dryRun: v.optional(v.boolean("dryRun must be true or false")) },
  keyMessage,
);

export const dropBody = v.strictObject({ by, confirm: name("confirm") }, keyMessage);

export const replayBody = v.strictObject({ by }, keyMessage);

export const resolveBody = v.strictObject({ by, note }, keyMessage);

export const groupReplayBody = v.strictObject({ by, consumer: v.optional(name("consumer")) }, keyMessage);

export const groupResolveBody = v.strictObject({ by, note, consumer: v.optional(name("consumer")) }, keyMessage);

/** GET api/dead-letters/groups?consumer= */
export const groupsQuery = v.object({ consumer: v.optional(name("consumer")) }, keyMessage);

/** GET api/dead-letters?consumer=&fingerprint=&includeResolved=&limit= */
export const deadLettersQuery = v.object(
  {
    consumer: v.optional(name("consumer")),
    fingerprint: v.optional(fingerprint),
    includeResolved: flag("includeResolved"),
    limit: integer("limit", 1000),
  },
  keyMessage,
);

/** GET api/events?eventId=&eventType=&subject=&correlationId=&from=&to=&limit= */
export const eventsQuery = v.object(
  {
    eventId: v.optional(name("eventId")),
    eventType: v.optional(name("eventType")),
    subject: v.optional(name("subject")),
    correlationId: v.optional(name("correlationId")),
    from: time("from"),
    to: time("to"),
    limit: integer("limit", 500),
  },
  keyMessage,
);

const AFTER = "after must be a position (a whole number)";
/** GET api/tail?after=&eventType= */
export const tailQuery = v.object(
  { after: v.optional(v.pipe(v.string(AFTER), v.regex(/^\d{1,18}$/, AFTER))), eventType: v.optional(name("eventType")) },
  keyMessage,
);
