import type { Logger } from "../observability/index.js";
import { problem } from "./responses.js";

export type AuthorizationResult = boolean | { allowed: true } | { allowed: false; status?: 401 | 403; reason?: string };

/**
 * Runs the route's authorize hook. Only `true` or `{ allowed: true }` allows. `false` and
 * `{ allowed: false, status: 401 }` answer 401 UNAUTHORIZED, as does a hook that throws; every other
 * result (`{ allowed: false }` without a status or with 403, null, undefined, anything else) answers
 * 403 FORBIDDEN.
 */
export async function authorization(
  authorize: (request: Request) => unknown,
  request: Request,
  logger: Logger,
  owner = "dispatcher DLQ",
): Promise<Response | undefined> {
  let result: unknown;
  try {
    result = await authorize(request);
  } catch (error) {
    logger.warn({ err: error }, `${owner} authorize hook threw; answered 401`);
    return problem(401, "UNAUTHORIZED", "authorization failed");
  }
  if (result === true) return undefined;
  if (result === false) return problem(401, "UNAUTHORIZED", "authentication required");
  const decision = typeof result === "object" && result !== null ? (result as Record<string, unknown>) : {};
  if (decision["allowed"] === true) return undefined;
  const reason = typeof decision["reason"] === "string" && decision["reason"] !== "" ? decision["reason"] : undefined;
  if (decision["allowed"] === false && decision["status"] === 401) return problem(401, "UNAUTHORIZED", reason ?? "authentication required");
  return problem(403, "FORBIDDEN", reason ?? "forbidden");
}
