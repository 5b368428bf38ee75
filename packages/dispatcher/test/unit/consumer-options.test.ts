import { describe, expect, it } from "vitest";
import { SguildError } from "@sguild/contracts";
import { CONSUMER_DEFAULTS, resolveConsumerOptions, type ConsumerLoopOptions } from "../../src/config/consumer-options.js";

function failure(options: unknown): SguildError {
  try {
    resolveConsumerOptions(options as ConsumerLoopOptions);
  } catch (error) {
    return error as SguildError;
  }
  throw new Error(`resolveConsumerOptions(${JSON.stringify(options)}) did not throw`);
}

const expectConfigError = (options: unknown, setting: string) => {
  const error = failure(options);
  expect(error).toBeInstanceOf(SguildError);
  expect(error.code).toBe("CONFIG_INVALID");
  expect(error.details).toEqual({ setting });
};

describe("resolveConsumerOptions", () => {
  it("fills every default for a consumer name alone", () => {
    expect(resolveConsumerOptions({ consumer: "coaching" })).toEqual({
      consumer: "coaching",
      batchSize: 50,
      maxBatchSize: 500,
      pollIntervalMs: 5000,
      retryDelaysMs: [1000, 5000, 15000],
      handlerTimeoutMs: 30_000,
      synchronousCommit: false,
      listen: true,
      listenReconnectDelaysMs: [1000, 5000, 15000, 60000],
      listenHeartbeatMs: 15_000,
      lagReportIntervalMs: 10_000,
      startFrom: "earliest",
    });
  });

  it("keeps every given option over the defaults and treats undefined as not given", () => {
    const given: ConsumerLoopOptions = {
      consumer: "revenue",
      batchSize: 1,
      maxBatchSize: 7,
      pollIntervalMs: 1,
      retryDelaysMs: [],
      handlerTimeoutMs: 2,
      synchronousCommit: true,
      listen: false,
      listenReconnectDelaysMs: [0],
      listenHeartbeatMs: 3,
      lagReportIntervalMs: 4,
      startFrom: "now",
    };
    expect(resolveConsumerOptions(given)).toEqual(given);
    expect(resolveConsumerOptions({ consumer: "c", batchSize: undefined, listen: undefined, startFrom: undefined })).toEqual({
      ...CONSUMER_DEFAULTS,
      consumer: "c",
    });
    // batchSize alone fixes every batch at that size; with maxBatchSize too, batches grow between them.
    expect(resolveConsumerOptions({ consumer: "c", batchSize: 20 })).toMatchObject({ batchSize: 20, maxBatchSize: 20 });
    expect(resolveConsumerOptions({ consumer: "c", batchSize: 20, maxBatchSize: undefined })).toMatchObject({
      batchSize: 20,
      maxBatchSize: 20,
    });
    expect(resolveConsumerOptions({ consumer: "c", maxBatchSize: 80 })).toMatchObject({ batchSize: 50, maxBatchSize: 80 });
  });

  it("returns a new object and leaves the input as it was", () => {
    const input: ConsumerLoopOptions = { consumer: "c", batchSize: undefined };
    const resolved = resolveConsumerOptions(input);
    expect(resolved).not.toBe(input);
    expect(input).toEqual({ consumer: "c", batchSize: undefined });
  });

  it.each(["a", "coaching", "c0", "a.b:c-d_e", `a${"b".repeat(127)}`])("accepts the consumer name %j", (consumer) => {
    expect(resolveConsumerOptions({ consumer }).consumer).toBe(consumer);
  });

  it.each(["", "Coaching", "1abc", "_a", ".a", "a b", "a/b", "coaché", "コーチ", `a${"b".repeat(128)}`, "a\n"])(
    "refuses the consumer name %j with CONFIG_INVALID",
    (consumer) => expectConfigError({ consumer }, "consumer"),
  );

  it.each([undefined, null, {}, { consumer: 42 }, { consumer: null }])("refuses %j (no consumer name) with CONFIG_INVALID", (options) => {
    expectConfigError(options, "consumer");
  });

  it.each(["batchSize", "pollIntervalMs", "handlerTimeoutMs", "listenHeartbeatMs", "lagReportIntervalMs"])(
    "needs %s to be a positive integer",
    (setting) => {
      for (const value of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "10"])
        expectConfigError({ consumer: "c", [setting]: value }, setting);
      expect(resolveConsumerOptions({ consumer: "c", [setting]: 1 })[setting as "batchSize"]).toBe(1);
      expect(resolveConsumerOptions({ consumer: "c", [setting]: 2 ** 31 })[setting as "batchSize"]).toBe(2 ** 31);
    },
  );

  it.each(["latest", "", "EARLIEST", null])("refuses startFrom %j with CONFIG_INVALID", (startFrom) => {
    expectConfigError({ consumer: "c", startFrom }, "startFrom");
  });

  it.each(["retryDelaysMs", "listenReconnectDelaysMs"])("needs %s to be an array of non-negative numbers", (setting) => {
    for (const value of [[-1], [1000, -1], [Number.NaN], [Number.POSITIVE_INFINITY], ["1000"], "1000", 1000, null, {}]) {
      expectConfigError({ consumer: "c", [setting]: value }, setting);
    }
    expect(resolveConsumerOptions({ consumer: "c", [setting]: [] })[setting as "retryDelaysMs"]).toEqual([]);
    expect(resolveConsumerOptions({ consumer: "c", [setting]: [0, 0.5, 1e9] })[setting as "retryDelaysMs"]).toEqual([0, 0.5, 1e9]);
  });

  it("checks the consumer name before anything else", () => {
    expectConfigError({ consumer: "Bad", batchSize: 0, startFrom: "later" }, "consumer");
  });
});
