// The JetStream transport without a server. The inbox consumer's reading discipline, against a stand-in
// for the NATS client: a gap in the delivery sequence stops the read; it starts again after ack_wait,
// when JetStream delivers what was not acknowledged first. And the relay's message body.
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../src/index.js";
import { toStructuredJson } from "../../src/fanout/cloud-event.js";
import { TypeConsumer, type Delivery } from "../../src/jetstream/inbox-consumer.js";
import { toJetStreamMessage } from "../../src/jetstream/message.js";

function fakeSession(infos: Array<{ num_ack_pending: number; delivered: { consumer_seq: number } }>) {
  const calls: string[] = [];
  const reads: Array<(msg: unknown) => void> = [];
  const session = {
    jsm: {
      consumers: {
        info: async () => {
          calls.push("info");
          return infos.shift() ?? { num_ack_pending: 0, delivered: { consumer_seq: 0 } };
        },
      },
    },
    js: {
      consumers: {
        get: async () => ({
          consume: async ({ callback }: { callback: (msg: unknown) => void }) => {
            calls.push("consume");
            reads.push(callback);
            return { close: async () => void calls.push("close") };
          },
        }),
      },
    },
  };
  return { session, calls, reads };
}

const msg = (deliverySequence: number, streamSequence: number) => ({ info: { deliverySequence, streamSequence }, seq: streamSequence });
const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe("TypeConsumer", () => {
  it("passes on contiguous deliveries; at a gap it stops, waits ack_wait, reads again from JetStream's delivered sequence", async () => {
    const { session, calls, reads } = fakeSession([
      { num_ack_pending: 0, delivered: { consumer_seq: 10 } },
      // After the gap: the lost message and the one behind it unacknowledged.
      { num_ack_pending: 2, delivered: { consumer_seq: 13 } },
      { num_ack_pending: 2, delivered: { consumer_seq: 13 } },
    ]);
    const pushed: number[] = [];
    let resyncs = 0;
    const consumer = new TypeConsumer("sguild-coaching_credit_locked", "credit.locked", "sguild.t.revenue.credit.locked", {
      session: session as never,
      stream: "S",
      batchSize: 10,
      ackWaitMs: 50,
      maxAckPending: 100,
      startFrom: "earliest",
      pullExpiresMs: 1000,
      logger: silentLogger,
      push: (d: Delivery) => pushed.push((d.msg as unknown as { seq: number }).seq),
      onResync: () => (resyncs += 1),
    });
    consumer.start();
    await tick(20);
    expect(calls).toEqual(["info", "consume"]);
    reads[0]!(msg(11, 100));
    reads[0]!(msg(12, 101));
    // 13 never arrives (lost on the way): 14 is a gap.
    reads[0]!(msg(14, 103));
    reads[0]!(msg(15, 104));
    expect(pushed).toEqual([100, 101]);
    expect(resyncs).toBe(1);
    await tick(20);
    // Stopped, and waiting out ack_wait before reading again (messages left unacknowledged).
    expect(calls).toEqual(["info", "consume", "close", "info"]);
    await tick(400);
    expect(calls).toEqual(["info", "consume", "close", "info", "info", "consume"]);
    // What the stopped read still receives is ignored; the new one goes on from delivery 13.
    reads[0]!(msg(16, 105));
    reads[1]!(msg(14, 102));
    reads[1]!(msg(15, 103));
    reads[1]!(msg(16, 104));
    expect(pushed).toEqual([100, 101, 102, 103, 104]);
    await consumer.stop();
    reads[1]!(msg(17, 105));
    expect(pushed).toHaveLength(5);
  });

  it("a start with messages left unacknowledged (a crashed inbox) waits ack_wait before reading", async () => {
    const { session, calls } = fakeSession([
      { num_ack_pending: 3, delivered: { consumer_seq: 40 } },
      { num_ack_pending: 3, delivered: { consumer_seq: 40 } },
    ]);
    const consumer = new TypeConsumer("d", "credit.locked", "s", {
      session: session as never,
      stream: "S",
      batchSize: 10,
      ackWaitMs: 80,
      maxAckPending: 100,
      startFrom: "earliest",
      pullExpiresMs: 1000,
      logger: silentLogger,
      push: () => undefined,
      onResync: () => undefined,
    });
    consumer.start();
    await tick(40);
    expect(calls).toEqual(["info"]);
    await tick(450);
    expect(calls).toEqual(["info", "info", "consume"]);
    await consumer.stop();
  });
});

describe("toJetStreamMessage", () => {
  it("writes the body toStructuredJson writes (the HTTP relay's structured CloudEvent), attribute for attribute", () => {
    const base = {
      event_id: "evt_0190f5a2-7c3e-7a11-8b2c-3d4e5f607182",
      event_type: "credit.locked",
      occurred_at: "2026-06-01T15:00:00Z",
      tenant_id: "tnt_sguild",
      producer: "revenue" as const,
      schema_version: 1,
      payload: { credit_reservation_id: "crr_1", locked_credits: 1, nested: { a: [1, "b", null] } },
    };
    const full = { ...base, occurred_at: "2026-06-01T15:00:00.123456+02:00", subject: "crr_1", actor: "usr_1", correlation_id: "cor_1" };
    const traceContext = { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", tracestate: "k=v" };
    for (const source of [
      { envelope: base },
      { envelope: full, traceContext, payloadSchemaPath: "contracts/credit-reservation-lock/schema/payloads/credit.locked-v1.json" },
    ]) {
      const message = toJetStreamMessage(source, "sguild");
      expect(JSON.parse(message.body)).toEqual(JSON.parse(toStructuredJson(source)));
    }
  });
});
