import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Wakeup } from "../../src/consumer/wakeup.js";

/** Starts a sleep and exposes whether (and how) it has ended. */
function track(promise: Promise<boolean>) {
  const state: { done: boolean; value: boolean | undefined } = { done: false, value: undefined };
  void promise.then((value) => Object.assign(state, { done: true, value }));
  return state;
}

describe("Wakeup with fake timers", () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it("sleeps for exactly ms and resolves true when it ran to its timeout", async () => {
    const sleep = track(new Wakeup().sleep(1000));
    await vi.advanceTimersByTimeAsync(999);
    expect(sleep.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(sleep).toEqual({ done: true, value: true });
    expect(vi.getTimerCount()).toBe(0);
  });

  it("ends a running sleep at once on wake(), resolves false and clears its timer", async () => {
    const wakeup = new Wakeup();
    const sleep = track(wakeup.sleep(60_000));
    await vi.advanceTimersByTimeAsync(10);
    expect(vi.getTimerCount()).toBe(1);
    wakeup.wake();
    await vi.advanceTimersByTimeAsync(0);
    expect(sleep).toEqual({ done: true, value: false });
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a wake() consumed by the sleep it ended does not cut the next one short", async () => {
    const wakeup = new Wakeup();
    const first = track(wakeup.sleep(1000));
    wakeup.wake();
    await vi.advanceTimersByTimeAsync(0);
    expect(first).toEqual({ done: true, value: false });
    const second = track(wakeup.sleep(1000));
    await vi.advanceTimersByTimeAsync(999);
    expect(second.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(second).toEqual({ done: true, value: true });
  });

  it("remembers a wake() made while not sleeping: the next sleep returns false without a timer", async () => {
    const wakeup = new Wakeup();
    wakeup.wake();
    const sleep = track(wakeup.sleep(1000));
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(sleep).toEqual({ done: true, value: false });
  });

  it("folds several wakes before a sleep into one: only that sleep is cut short", async () => {
    const wakeup = new Wakeup();
    wakeup.wake();
    wakeup.wake();
    wakeup.wake();
    expect(await wakeup.sleep(1000)).toBe(false);
    const next = track(wakeup.sleep(1000));
    await vi.advanceTimersByTimeAsync(1000);
    expect(next).toEqual({ done: true, value: true });
  });

  it("a wake() right after a sleep timed out is kept for the next sleep", async () => {
    const wakeup = new Wakeup();
    const first = track(wakeup.sleep(100));
    await vi.advanceTimersByTimeAsync(100);
    expect(first).toEqual({ done: true, value: true });
    wakeup.wake();
    expect(await wakeup.sleep(100)).toBe(false);
  });

  it.each([0, -1, -1000])("sleep(%d) returns false at once, sets no timer, and consumes a pending wake", async (ms) => {
    const wakeup = new Wakeup();
    expect(await wakeup.sleep(ms)).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    wakeup.wake();
    expect(await wakeup.sleep(ms)).toBe(false);
    const next = track(wakeup.sleep(50));
    await vi.advanceTimersByTimeAsync(49);
    expect(next.done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(next).toEqual({ done: true, value: true });
  });

  it("keeps two Wakeups independent", async () => {
    const a = new Wakeup();
    const b = new Wakeup();
    const sleepA = track(a.sleep(500));
    const sleepB = track(b.sleep(500));
    a.wake();
    await vi.advanceTimersByTimeAsync(0);
    expect(sleepA).toEqual({ done: true, value: false });
    expect(sleepB.done).toBe(false);
    await vi.advanceTimersByTimeAsync(500);
    expect(sleepB).toEqual({ done: true, value: true });
  });
});

describe("Wakeup with real timers", () => {
  it("waits out a short sleep, and a wake from another task ends a long one early", async () => {
    const wakeup = new Wakeup();
    let started = performance.now();
    expect(await wakeup.sleep(40)).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(38);

    started = performance.now();
    setTimeout(() => wakeup.wake(), 20);
    expect(await wakeup.sleep(10_000)).toBe(false);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
