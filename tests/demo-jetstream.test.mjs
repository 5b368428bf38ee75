// pnpm demo --transport jetstream end to end: the reference apps as processes, each with its own database,
// events crossing through a nats-server started by the demo (the JetStream relay and inbox); Coaching's
// availability must be exactly the week's, as through the fanout relay.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

it("the scripted week through JetStream ends with exactly the expected availability, no lag, no dead letters", async () => {
  const demo = spawn(process.execPath, [fileURLToPath(new URL("../scripts/demo.mjs", import.meta.url)), "--transport", "jetstream"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  demo.stdout.on("data", (chunk) => (out += chunk.toString()));
  demo.stderr.on("data", (chunk) => (out += chunk.toString()));
  const [code] = await once(demo, "exit");
  expect(out).not.toContain("needs nats-server");
  expect(out).toContain("events through the JetStream relay");
  expect(out).toMatch(/Tue swim\s+Ada:consumed\/funded, Ben:forfeited\/funded\s+1 held ✓/);
  expect(out).toMatch(/Wed swim\s+Cleo:released\/refunded\s+0 held ✓/);
  expect(out).toMatch(/Thu swim\s+Ada:forfeited\/funded\s+0 held ✓/);
  expect(out).toMatch(/Fri swim\s+Ben:reserved\/pending_funding, Cleo:locked\/funded\s+2 held ✓/);
  expect(out).toContain("consumer lag: JetStream relay 0 events, coaching projection 0 events");
  expect(out).toContain("dead letters: JetStream relay 0, coaching projection 0");
  // Every event Coaching consumes stored once by the inbox, none twice, none refused.
  expect(out).toMatch(/JetStream inbox: \d+ events stored, 0 duplicates, 0 refused, 0 pending/);
  expect(code).toBe(0);
}, 120_000);
