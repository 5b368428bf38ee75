import { jetStreamStatus, type JetStreamStatus } from "../jetstream/status.js";
import { table } from "./format.js";

/**
 * `status --jetstream <servers> --stream <name>`: the stream and every consumer of it (the JetStream
 * inbox's durables among them) as JetStream counts them. Credentials from NATS_USER / NATS_PASSWORD
 * or NATS_TOKEN; the NATS client must be installed.
 */
export async function readJetStreamStatus(servers: string, stream: string): Promise<JetStreamStatus> {
  const env = (name: string) => process.env[name] || undefined;
  const auth = { user: env("NATS_USER"), pass: env("NATS_PASSWORD"), token: env("NATS_TOKEN") };
  return jetStreamStatus({
    servers,
    stream: { name: stream },
    ...Object.fromEntries(Object.entries(auth).filter(([, v]) => v !== undefined)),
    connectionOptions: { maxReconnectAttempts: 0, timeout: 5000 },
  });
}

export function jetStreamStatusText(status: JetStreamStatus): string {
  const s = status.stream;
  const head =
    `stream ${s.name}: ${s.messages} messages (sequences ${s.firstSequence}..${s.lastSequence}), ` +
    `${s.replicas} replica(s), leader ${s.leader ?? "-"}`;
  if (status.consumers.length === 0) return `${head}\nno consumers`;
  return `${head}\n${table(
    ["JETSTREAM CONSUMER", "FILTER", "PENDING", "ACK PENDING", "REDELIVERED", "ACK FLOOR", "DELIVERED", "LEADER"],
    status.consumers.map((c) => [
      c.name,
      c.filterSubject,
      c.numPending,
      c.numAckPending,
      c.numRedelivered,
      c.ackFloor,
      c.delivered,
      c.leader,
    ]),
  )}`;
}
