/** A transition the lock or funding state machine does not allow from the current state (HTTP 409). */
export class IllegalTransitionError extends Error {
  readonly code = "ILLEGAL_TRANSITION";
  constructor(
    readonly reservationId: string,
    readonly transition: string,
    readonly currentState: string,
  ) {
    super(`cannot ${transition} reservation ${reservationId}: it is ${currentState}`);
  }
}

export class NotFoundError extends Error {
  readonly code = "NOT_FOUND";
  constructor(
    readonly what: string,
    readonly id: string,
  ) {
    super(`${what} ${id} does not exist`);
  }
}

export class InsufficientCreditsError extends Error {
  readonly code = "INSUFFICIENT_CREDITS";
  constructor(
    readonly accountId: string,
    readonly balance: number,
    readonly wanted: number,
  ) {
    super(`account ${accountId} has ${balance} credits, ${wanted} needed`);
  }
}
