// pnpm demo --transport jetstream: a nats-server with JetStream on loopback, the JetStream relay
// beside Revenue (its outbox to the stream) and the JetStream inbox beside Coaching (the stream to its
// dispatcher_event), in the demo's own process.
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "@sguild/dispatcher";
import { createJetStreamInbox, createJetStreamRelay } from "@sguild/dispatcher/jetstream";

function natsServer() {
  for (const dir of [...(process.env.PATH ?? "").split(":"), "/usr/sbin"]) {
    if (dir && spawnSync(join(dir, "nats-server"), ["--version"], { stdio: "ignore" }).status === 0) return join(dir, "nats-server");
  }
  console.error("demo: --transport jetstream needs nats-server (Debian: apt-get install nats-server)");
  process.exit(1);
}

async function freePort() {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  server.close();
  await once(server, "close");
  return port;
}

const listening = (port) =>
  new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });

export async function startJetStream(revenueUrl, coachingUrl, log) {
  const binary = natsServer();
  const dir = mkdtempSync(join(tmpdir(), "sguild-demo-nats-"));
  const port = await freePort();
  const nats = spawn(binary, ["-js", "-sd", dir, "-p", String(port), "-a", "127.0.0.1"], { stdio: "ignore" });
  while (!(await listening(port))) {
    if (nats.exitCode !== null) throw new Error(`nats-server exited with ${nats.exitCode}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const jetstream = { servers: [`nats://127.0.0.1:${port}`], stream: { name: "SGUILD_DEMO" } };
  const relay = createJetStreamRelay({
    source: { producer: "revenue", tenantId: "tnt_sguild", databaseUrl: revenueUrl, logger: silentLogger },
    jetstream,
    consumerOptions: { pollIntervalMs: 200 },
  });
  const inbox = createJetStreamInbox({
    target: { producer: "coaching", tenantId: "tnt_sguild", databaseUrl: coachingUrl, logger: silentLogger },
    jetstream,
  });
  await relay.start();
  await inbox.start();
  log(
    `• nats-server with JetStream on ${jetstream.servers[0]}; stream SGUILD_DEMO; ` +
      `JetStream relay (${relay.consumer}) and inbox running`,
  );
  return {
    relayConsumer: relay.consumer,
    /** Until the relay published everything and the inbox stored everything (or the deadline). */
    async settle(deadline) {
      while (Date.now() < deadline) {
        const lag = (await relay.pending()).reduce((n, p) => n + p.lagEvents, 0);
        const left = (await inbox.pending()).reduce((n, p) => n + p.numPending + p.numAckPending, 0);
        if (lag === 0 && left === 0) return;
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async summary() {
      const pending = await inbox.pending();
      const { stored, duplicates, terminated } = inbox.counts;
      const left = pending.reduce((n, p) => n + p.numPending + p.numAckPending, 0);
      const refused = Object.values(terminated).reduce((a, b) => a + b, 0);
      return `${stored} events stored, ${duplicates} duplicates, ${refused} refused, ${left} pending`;
    },
    async close() {
      await relay.close();
      await inbox.close();
      nats.kill("SIGTERM");
      if (nats.exitCode === null) await once(nats, "exit");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
