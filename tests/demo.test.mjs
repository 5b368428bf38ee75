// The demo scenario end to end: both reference apps as processes, each with its own database,
// events crossing through the fanout relay; Coaching's availability must be exactly the week's.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

it("the scripted week ends with exactly the expected availability, no lag and no dead letters", async () => {
  const demo = spawn(process.execPath, [fileURLToPath(new URL("../scripts/demo.mjs", import.meta.url))], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  demo.stdout.on("data", (chunk) => (out += chunk.toString()));
  demo.stderr.on("data", (chunk) => (out += chunk.toString()));
  const [code] = await once(demo, "exit");
  expect(out).toMatch(/Tue swim\s+Ada:consumed\/funded, Ben:forfeited\/funded\s+1 held ✓/);
  expect(out).toMatch(/Wed swim\s+Cleo:released\/refunded\s+0 held ✓/);
  expect(out).toMatch(/Thu swim\s+Ada:forfeited\/funded\s+0 held ✓/);
  expect(out).toMatch(/Fri swim\s+Ben:reserved\/pending_funding, Cleo:locked\/funded\s+2 held ✓/);
  expect(out).toContain("customer.handoff sidecars published: 3 (one per Person)");
  expect(out).toContain("consumer lag: fanout relay 0 events, coaching projection 0 events");
  expect(out).toContain("dead letters: fanout relay 0, coaching projection 0");
  expect(out).toContain("refused 409: cannot consume reservation");
  expect(out).toMatch(/refused 409: cannot lock reservation crr_\S+: it is consumed/);
  expect(code).toBe(0);
}, 120_000);
