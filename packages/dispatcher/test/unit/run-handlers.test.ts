// runHandlers: each handler bounded by the timeout when it returns a promise or any other thenable;
// a handler that returns without one has finished and gets no timer; the consumed event is the
// correlation context of everything a handler does.
import { describe, expect, it } from "vitest";
import { runHandlers } from "../../src/consumer/run-handlers.js";
import { HandlerTimeoutError } from "../../src/errors/index.js";
import { inheritedCorrelationId } from "../../src/producer/correlation.js";
import type { EventEnvelope } from "../../src/envelope/index.js";

const event = { event_id: "evt_1", event_type: "credit.locked", correlation_id: "evt_0" } as EventEnvelope;
const ctx = {} as never;

describe("runHandlers", () => {
  it("runs every handler in order, sync and async, and resolves once all have finished", async () => {
    const calls: string[] = [];
    await runHandlers(
      [
        () => void calls.push("sync"),
        async () => {
          await new Promise((r) => setTimeout(r, 5));
          calls.push("async");
        },
        () => {
          calls.push("value");
          return 42 as never;
        },
      ],
      event,
      ctx,
      1000,
    );
    expect(calls).toEqual(["sync", "async", "value"]);
  });

  it("rejects with the handler's own error, thrown synchronously or rejected", async () => {
    const thrown = new Error("sync throw");
    await expect(
      runHandlers(
        [
          () => {
            throw thrown;
          },
        ],
        event,
        ctx,
        1000,
      ),
    ).rejects.toBe(thrown);
    const rejected = new Error("rejected");
    await expect(runHandlers([async () => Promise.reject(rejected)], event, ctx, 1000)).rejects.toBe(rejected);
  });

  it("bounds a promise or a thenable that never settles by the timeout, naming the event", async () => {
    const never = () => new Promise<void>(() => undefined);
    await expect(runHandlers([never], event, ctx, 30)).rejects.toThrow(HandlerTimeoutError);
    await expect(runHandlers([never], event, ctx, 30)).rejects.toThrow(/evt_1/);
    const thenable = { then: () => undefined };
    await expect(runHandlers([() => thenable as never], event, ctx, 30)).rejects.toThrow(HandlerTimeoutError);
  });

  it("counts an async handler's synchronous work before its first await toward the timeout", async () => {
    const busy = (ms: number) => {
      const until = Date.now() + ms;
      while (Date.now() < until);
    };
    const handler = async () => {
      busy(150);
      await new Promise((r) => setTimeout(r, 10));
    };
    await expect(runHandlers([handler], event, ctx, 100)).rejects.toThrow(HandlerTimeoutError);
    await expect(runHandlers([handler], event, ctx, 100)).rejects.toThrow("handler for evt_1 did not finish within 100 ms");
    // Within its time it succeeds.
    await expect(runHandlers([handler], event, ctx, 1000)).resolves.toBeUndefined();
  });

  it("turns a thenable whose then() throws into that error, not a timeout", async () => {
    const broken = new Error("then() threw");
    const thenable = {
      then: () => {
        throw broken;
      },
    };
    const started = Date.now();
    await expect(runHandlers([() => thenable as never], event, ctx, 5000)).rejects.toBe(broken);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("runs each handler with the consumed event as correlation context", async () => {
    const seen: (string | undefined)[] = [];
    await runHandlers(
      [
        () => void seen.push(inheritedCorrelationId()),
        async () => {
          await new Promise((r) => setTimeout(r, 1));
          seen.push(inheritedCorrelationId());
        },
      ],
      event,
      ctx,
      1000,
    );
    expect(seen).toEqual(["evt_0", "evt_0"]);
    expect(inheritedCorrelationId()).toBeUndefined();
  });
});
