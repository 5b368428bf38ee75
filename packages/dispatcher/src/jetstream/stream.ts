import { JetStreamTransportError } from "../errors/index.js";
import { closeNatsSession, openNatsSession, type NatsSession } from "./client.js";
import { resolveJetStreamConfig, type JetStreamConfig, type ResolvedJetStreamConfig } from "./config.js";

/** What `ensureStream` found or made. */
export interface EnsuredStream {
  name: string;
  /** "created", "updated" (a setting differed), or "unchanged". */
  action: "created" | "updated" | "unchanged";
  subjects: string[];
  replicas: number;
  retention: string;
  messages: number;
  firstSequence: number;
  lastSequence: number;
}

const NANOS_PER_MS = 1_000_000;

/** The stream's settings as the JetStream API takes them (durations in nanoseconds; 0 / -1: unlimited). */
function wanted(config: ResolvedJetStreamConfig) {
  const { stream, subjectPrefix } = config;
  return {
    subject: `${subjectPrefix}.>`,
    num_replicas: stream.replicas,
    max_age: stream.maxAgeMs * NANOS_PER_MS,
    max_bytes: stream.maxBytes === 0 ? -1 : stream.maxBytes,
    duplicate_window: stream.duplicateWindowMs * NANOS_PER_MS,
  };
}

const isNotFound = (error: unknown) =>
  (error as { code?: unknown })?.code === 10059 || /stream not found/i.test(String((error as Error)?.message));

/**
 * Creates the stream, or updates it where its subjects, replicas, max age, max bytes or duplicate
 * window differ from the configuration. Retention and storage cannot change on an existing stream:
 * a difference is refused (JetStreamTransportError "stream"), never applied by deleting it.
 */
export async function ensureStreamIn(session: NatsSession, config: ResolvedJetStreamConfig): Promise<EnsuredStream> {
  const { stream } = config;
  const want = wanted(config);
  const fail = (what: string, error: unknown): never => {
    throw new JetStreamTransportError("stream", `stream ${stream.name}: ${what}: ${(error as Error)?.message ?? String(error)}`, {
      cause: error,
      details: { stream: stream.name },
    });
  };
  let existing: Awaited<ReturnType<NatsSession["jsm"]["streams"]["info"]>> | undefined;
  try {
    existing = await session.jsm.streams.info(stream.name);
  } catch (error) {
    if (!isNotFound(error)) fail("cannot read it", error);
  }
  let info = existing;
  let action: EnsuredStream["action"] = "unchanged";
  if (!existing) {
    try {
      info = await session.jsm.streams.add({
        name: stream.name,
        subjects: [want.subject],
        retention: stream.retention as never,
        storage: stream.storage as never,
        num_replicas: want.num_replicas,
        max_age: want.max_age,
        max_bytes: want.max_bytes,
        duplicate_window: want.duplicate_window,
        discard: "old" as never,
      });
      action = "created";
    } catch (error) {
      fail("cannot create it", error);
    }
  } else {
    const current = existing.config;
    for (const [setting, value] of [
      ["retention", stream.retention],
      ["storage", stream.storage],
    ] as const) {
      if (current[setting] !== value) {
        throw new JetStreamTransportError(
          "stream",
          `stream ${stream.name} exists with ${setting} ${current[setting]}, the configuration says ${value}: ` +
            "JetStream cannot change it in place; edit the configuration or recreate the stream",
          { details: { stream: stream.name, setting } },
        );
      }
    }
    const subjects = current.subjects.includes(want.subject) ? current.subjects : [...current.subjects, want.subject];
    const differs =
      subjects !== current.subjects ||
      current.num_replicas !== want.num_replicas ||
      current.max_age !== want.max_age ||
      current.max_bytes !== want.max_bytes ||
      current.duplicate_window !== want.duplicate_window;
    if (differs) {
      try {
        const { subject: _subject, ...settings } = want;
        info = await session.jsm.streams.update(stream.name, { ...settings, subjects });
        action = "updated";
      } catch (error) {
        fail("cannot update it", error);
      }
    }
  }
  return {
    name: stream.name,
    action,
    subjects: info!.config.subjects,
    replicas: info!.config.num_replicas,
    retention: info!.config.retention,
    messages: info!.state.messages,
    firstSequence: info!.state.first_seq,
    lastSequence: info!.state.last_seq,
  };
}

/** Connects, creates or updates the configured stream (see ensureStreamIn), and disconnects. */
export async function ensureStream(config: JetStreamConfig): Promise<EnsuredStream> {
  const resolved = resolveJetStreamConfig(config);
  const session = await openNatsSession(resolved);
  try {
    return await ensureStreamIn(session, resolved);
  } finally {
    await closeNatsSession(session);
  }
}
