// pnpm bench jetstream: the relay in its own process, as a producing domain runs it.
import { createJetStreamRelay } from "../../dist/jetstream/index.js";

const { databaseUrl, jetstream, batchSize } = JSON.parse(process.argv[2]);
const relay = createJetStreamRelay({
  source: { producer: "revenue", tenantId: "tnt_sguild", databaseUrl },
  jetstream,
  eventTypes: ["credit.reserved"],
  consumerOptions: { batchSize },
});
await relay.start();
process.stdout.write("started\n");
process.on("SIGTERM", () => relay.close().then(() => process.exit(0)));
