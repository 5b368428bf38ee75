// pnpm bench jetstream: the inbox in its own process, as a consuming domain runs it.
import { createJetStreamInbox } from "../../dist/jetstream/index.js";

const { databaseUrl, jetstream, batchSize } = JSON.parse(process.argv[2]);
const inbox = createJetStreamInbox({
  target: { producer: "coaching", tenantId: "tnt_sguild", databaseUrl },
  jetstream,
  eventTypes: ["credit.reserved"],
  batchSize,
});
await inbox.start();
process.stdout.write("started\n");
process.on("SIGTERM", () => inbox.close().then(() => process.exit(0)));
