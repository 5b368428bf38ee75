import { JetStreamTransportError } from "../errors/index.js";
import { closeNatsSession, openNatsSession } from "./client.js";
import { resolveJetStreamConfig, type JetStreamConfig, type JetStreamStreamRef } from "./config.js";

/** A stream and its consumers as JetStream reports them (the inbox's durables among them). */
export interface JetStreamStatus {
  stream: { name: string; messages: number; firstSequence: number; lastSequence: number; replicas: number; leader: string | null };
  consumers: Array<{
    name: string;
    filterSubject: string | null;
    /** Messages on its subjects not delivered yet. */
    numPending: number;
    /** Delivered, not acknowledged yet. */
    numAckPending: number;
    numRedelivered: number;
    /** Stream sequence below which every message was acknowledged. */
    ackFloor: number;
    /** Stream sequence of the last message delivered. */
    delivered: number;
    leader: string | null;
  }>;
}

/** Reads the stream's state and every consumer's pending counts and ack floor (what `sguild-dispatcher status --jetstream` prints). */
export async function jetStreamStatus(config: JetStreamStreamRef): Promise<JetStreamStatus> {
  const resolved = resolveJetStreamConfig(config as JetStreamConfig);
  const session = await openNatsSession(resolved);
  const name = resolved.stream.name;
  try {
    const info = await session.jsm.streams.info(name);
    const consumers: JetStreamStatus["consumers"] = [];
    for await (const c of session.jsm.consumers.list(name)) {
      consumers.push({
        name: c.name,
        filterSubject: c.config.filter_subject ?? c.config.filter_subjects?.join(",") ?? null,
        numPending: c.num_pending,
        numAckPending: c.num_ack_pending,
        numRedelivered: c.num_redelivered,
        ackFloor: c.ack_floor.stream_seq,
        delivered: c.delivered.stream_seq,
        leader: c.cluster?.leader ?? null,
      });
    }
    consumers.sort((a, b) => a.name.localeCompare(b.name));
    return {
      stream: {
        name,
        messages: info.state.messages,
        firstSequence: info.state.first_seq,
        lastSequence: info.state.last_seq,
        replicas: info.config.num_replicas,
        leader: info.cluster?.leader ?? null,
      },
      consumers,
    };
  } catch (error) {
    if (JetStreamTransportError.isInstance(error)) throw error;
    throw new JetStreamTransportError("info", `cannot read stream ${name}: ${(error as Error)?.message}`, {
      cause: error,
      details: { stream: name },
    });
  } finally {
    await closeNatsSession(session);
  }
}
