// The ceiling the JetStream benchmark is measured against: the same cluster and message size with no
// PostgreSQL, no relay and no inbox, only nats.js publishing to an R3 stream while one pull consumer
// reads and acknowledges. Two ways to publish: the client's js.publish (a request, a reply mapping and
// a timer per message) and the relay's (acknowledgements collected on one subscription).
import { connect, headers as natsHeaders } from "@nats-io/transport-node";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const WINDOW = 500;

/** Publishes `total` messages of `body` and reads them back; events/s and the CPU per message of the servers and of this process. */
export async function rawCeiling({ servers, serversCpu, total, body, run, collector }) {
  const nc = await connect({ servers, noAsyncTraces: true });
  const reader = await connect({ servers, noAsyncTraces: true });
  const name = `RAW_${run}`;
  for (let i = 0; ; i += 1) {
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name, subjects: [`raw${run}.>`], num_replicas: 3 });
      await jsm.consumers.add(name, { durable_name: "reader", ack_policy: AckPolicy.Explicit });
      break;
    } catch (error) {
      if (i > 60) throw error;
      await sleep(500);
    }
  }
  const consumer = await jetstream(reader).consumers.get(name, "reader");
  const cpuBefore = { servers: serversCpu(), self: process.cpuUsage() };
  const started = performance.now();
  const reading = (async () => {
    let read = 0;
    for await (const message of await consumer.consume({ max_messages: 1000 })) {
      message.ack();
      if (++read === total) break;
    }
  })();
  const subject = `raw${run}.credit.reserved`;
  if (collector) {
    let acked = 0;
    let wake;
    const inbox = `_RAW.${run}.`;
    nc.subscribe(`${inbox}*`, {
      callback: () => {
        acked += 1;
        if (wake && acked >= wake.n) wake.resolve();
      },
    });
    for (let i = 0; i < total; i += 1) {
      const h = natsHeaders();
      h.set("Nats-Msg-Id", `m${i}`);
      nc.publish(subject, body, { reply: `${inbox}${i}`, headers: h });
      if (i + 1 - acked >= WINDOW) await new Promise((resolve) => (wake = { n: i + 1 - WINDOW / 2, resolve }));
    }
    if (acked < total) await new Promise((resolve) => (wake = { n: total, resolve }));
  } else {
    const js = jetstream(nc);
    for (let i = 0; i < total; i += WINDOW) {
      const acks = [];
      for (let j = i; j < Math.min(total, i + WINDOW); j += 1) acks.push(js.publish(subject, body, { msgID: `m${j}` }));
      await Promise.all(acks);
    }
  }
  await reading;
  const seconds = (performance.now() - started) / 1000;
  const self = process.cpuUsage(cpuBefore.self);
  const result = {
    rate: total / seconds,
    serversUs: ((serversCpu() - cpuBefore.servers) / total) * 1e6,
    clientUs: (self.user + self.system) / total,
  };
  await jetstreamManager(nc).then((jsm) => jsm.streams.delete(name));
  await Promise.all([nc.close(), reader.close()]);
  return result;
}
