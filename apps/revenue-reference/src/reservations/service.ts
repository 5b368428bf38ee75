import type { DomainDispatcher } from "../db.js";
import { v7 as uuidv7 } from "uuid";
import type { PrismaClient, Tx } from "../db.js";
import { IllegalTransitionError, InsufficientCreditsError, NotFoundError } from "./errors.js";

const newId = (prefix: string) => `${prefix}_${uuidv7()}`;
const now = () => new Date().toISOString();

export type ReleaseReason =
  | "site_closure"
  | "coach_unavailable_reschedule_failed"
  | "force_majeure"
  | "weather"
  | "administrative_void"
  | "customer_requested_in_window"
  | "customer_requested_exception"
  | "policy_exception"
  | "bad_debt_writeoff";
export type Initiator = "customer" | "admin" | "coach" | "system_weather" | "system_logistics" | "system_unpaid" | "system_other";

/**
 * Revenue's credit accounts and reservations. Every transition writes the domain rows and publishes
 * its event in one Prisma transaction; an illegal transition throws IllegalTransitionError naming
 * the current state, and nothing is written or published.
 */
export class RevenueService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly dispatcher: DomainDispatcher,
  ) {}

  async openAccount(personId: string) {
    return this.prisma.creditAccount.create({ data: { id: newId("crd_acct"), personId } });
  }

  async purchase(accountId: string, credits: number, orderId = newId("ord")) {
    return this.prisma.$transaction(async (tx) => {
      const account = await tx.creditAccount.update({ where: { id: accountId }, data: { balance: { increment: credits } } }).catch(() => {
        throw new NotFoundError("account", accountId);
      });
      const purchasedAt = now();
      await tx.creditPurchase.create({ data: { orderId, accountId, credits, purchasedAt } });
      await this.dispatcher.publish(
        {
          event_type: "credit.purchased",
          payload: {
            credit_account_id: accountId,
            person_id: account.personId,
            purchased_credits: credits,
            order_id: orderId,
            purchased_at: purchasedAt,
          },
          subject: account.personId,
        },
        { tx },
      );
      return account;
    });
  }

  async reserve(input: { accountId: string; lessonId: string; organizationId: string; credits: number; lessonStartsAt: string }) {
    return this.prisma.$transaction(async (tx) => {
      const account = await tx.creditAccount.findUnique({ where: { id: input.accountId } });
      if (!account) throw new NotFoundError("account", input.accountId);
      const debited = await tx.creditAccount.updateMany({
        where: { id: account.id, balance: { gte: input.credits } },
        data: { balance: { decrement: input.credits } },
      });
      if (debited.count === 0) throw new InsufficientCreditsError(account.id, account.balance, input.credits);
      const reservation = await tx.creditReservation.create({
        data: {
          id: newId("crr"),
          accountId: account.id,
          personId: account.personId,
          lessonId: input.lessonId,
          organizationId: input.organizationId,
          credits: input.credits,
          state: "reserved",
          fundingState: "pending_funding",
          lessonStartsAt: input.lessonStartsAt,
        },
      });
      await this.dispatcher.publish(
        {
          event_type: "credit.reserved",
          payload: {
            credit_reservation_id: reservation.id,
            credit_account_id: account.id,
            person_id: account.personId,
            lesson_id: input.lessonId,
            organization_id: input.organizationId,
            reserved_credits: input.credits,
            reserved_at: now(),
            lesson_starts_at: reservation.lessonStartsAt.toISOString(),
          },
          subject: account.personId,
        },
        { tx },
      );
      return reservation;
    });
  }

  /** Funding: pending_funding -> funded (credit.funded and reservation.funded). */
  async fund(id: string, source: "credits_available" | "invoice_paid", processorRef = newId("pay")) {
    return this.transition(id, "fund", { fundingState: ["pending_funding"] }, { fundingState: "funded" }, async (tx, r) => {
      const fundedAt = now();
      await this.dispatcher.publishMany(
        [
          {
            event_type: "credit.funded",
            payload: { credit_reservation_id: r.id, funding_source: source, funded_at: fundedAt },
            subject: r.personId,
          },
          {
            event_type: "reservation.funded",
            payload: {
              credit_reservation_id: r.id,
              person_id: r.personId,
              funding_source: source === "credits_available" ? "credit_balance" : "invoice_paid",
              payment_processor_provider: source === "credits_available" ? "manual" : "square",
              payment_processor_ref: processorRef,
              funded_at: fundedAt,
            },
            subject: r.personId,
          },
        ],
        { tx },
      );
    });
  }

  /** reserved -> locked; the first lock of a Person also publishes customer.handoff, never twice. */
  async lock(id: string) {
    return this.transition(id, "lock", { state: ["reserved"] }, { state: "locked" }, async (tx, r) => {
      const lockedAt = now();
      await this.dispatcher.publish(
        {
          event_type: "credit.locked",
          payload: {
            credit_reservation_id: r.id,
            lesson_id: r.lessonId,
            person_id: r.personId,
            locked_credits: r.credits,
            locked_at: lockedAt,
          },
          subject: r.personId,
        },
        { tx },
      );
      const first = await tx.customerHandoff.createMany({
        data: [{ personId: r.personId, creditReservationId: r.id, lessonId: r.lessonId, handoffAt: lockedAt }],
        skipDuplicates: true,
      });
      if (first.count === 1) {
        await this.dispatcher.publish(
          {
            event_type: "customer.handoff",
            payload: { person_id: r.personId, first_lesson_id: r.lessonId, credit_reservation_id: r.id, handoff_at: lockedAt },
            subject: r.personId,
          },
          { tx },
        );
      }
    });
  }

  /** locked -> consumed, at lesson delivery. */
  async consume(id: string) {
    return this.transition(id, "consume", { state: ["locked"] }, { state: "consumed" }, async (tx, r) => {
      await this.dispatcher.publish(
        {
          event_type: "credit.consumed",
          payload: { credit_reservation_id: r.id, lesson_id: r.lessonId, consumed_credits: r.credits, consumed_at: now() },
          subject: r.personId,
        },
        { tx },
      );
    });
  }

  /** reserved | locked -> released: credits go back to the account (credit.released v2). */
  async release(id: string, input: { initiator: Initiator; reasonCode: ReleaseReason; reasonNote?: string }) {
    return this.transition(id, "release", { state: ["reserved", "locked"] }, { state: "released" }, async (tx, r) => {
      await tx.creditAccount.update({ where: { id: r.accountId }, data: { balance: { increment: r.credits } } });
      await this.dispatcher.publish(
        {
          event_type: "credit.released",
          schema_version: 2,
          payload: {
            credit_reservation_id: r.id,
            credit_account_id: r.accountId,
            released_credits: r.credits,
            initiator: input.initiator,
            reason_code: input.reasonCode,
            reversal_reason: input.reasonCode === "administrative_void" ? "Administrative Void" : "Credits Released",
            cancelled_at: now(),
            ...(input.reasonNote ? { reason_note: input.reasonNote } : {}),
          },
          subject: r.personId,
        },
        { tx },
      );
    });
  }

  /** locked -> forfeited: a late cancel or a no-show. */
  async forfeit(id: string, reason: "late_cancel" | "no_show") {
    return this.transition(id, "forfeit", { state: ["locked"] }, { state: "forfeited" }, async (tx, r) => {
      await this.dispatcher.publish(
        {
          event_type: "credit.forfeited",
          payload: {
            credit_reservation_id: r.id,
            lesson_id: r.lessonId,
            forfeited_credits: r.credits,
            forfeiture_reason: reason,
            forfeited_at: now(),
          },
          subject: r.personId,
        },
        { tx },
      );
    });
  }

  /** funded -> refunding (reservation.refunding). */
  async startRefund(id: string, input: { reason: ReleaseReason; amountCents: number; processorRef?: string }) {
    const refundingAt = new Date();
    return this.transition(id, "refund", { fundingState: ["funded"] }, { fundingState: "refunding", refundingAt }, async (tx, r) => {
      await this.dispatcher.publish(
        {
          event_type: "reservation.refunding",
          payload: {
            credit_reservation_id: r.id,
            person_id: r.personId,
            refund_reason: input.reason,
            payment_processor_provider: "square",
            payment_processor_ref: input.processorRef ?? `rf_${r.id}`,
            refund_amount_cents: input.amountCents,
            currency: "USD",
            refunding_at: refundingAt.toISOString(),
          },
          subject: r.personId,
        },
        { tx },
      );
    });
  }

  /** refunding -> refunded (reservation.refunded). */
  async completeRefund(id: string, input: { reason: ReleaseReason; amountCents: number; processorRef?: string }) {
    return this.transition(id, "complete the refund of", { fundingState: ["refunding"] }, { fundingState: "refunded" }, async (tx, r) => {
      await this.dispatcher.publish(
        {
          event_type: "reservation.refunded",
          payload: {
            credit_reservation_id: r.id,
            person_id: r.personId,
            refund_reason: input.reason,
            payment_processor_provider: "square",
            payment_processor_ref: input.processorRef ?? `rf_${r.id}`,
            refund_amount_cents: input.amountCents,
            currency: "USD",
            refunding_at: r.refundingAt!.toISOString(),
            refunded_at: now(),
          },
          subject: r.personId,
        },
        { tx },
      );
    });
  }

  listReservations() {
    return this.prisma.creditReservation.findMany({ orderBy: { id: "asc" } });
  }

  async getReservation(id: string) {
    const r = await this.prisma.creditReservation.findUnique({ where: { id } });
    if (!r) throw new NotFoundError("reservation", id);
    return r;
  }

  /** Moves a reservation only from an allowed state (checked in the same UPDATE), then publishes. */
  private async transition(
    id: string,
    name: string,
    from: { state?: string[]; fundingState?: string[] },
    to: { state?: string; fundingState?: string; refundingAt?: Date },
    publish: (tx: Tx, reservation: Awaited<ReturnType<Tx["creditReservation"]["findUniqueOrThrow"]>>) => Promise<void>,
  ) {
    return this.prisma.$transaction(async (tx) => {
      const moved = await tx.creditReservation.updateMany({
        where: {
          id,
          ...(from.state ? { state: { in: from.state } } : {}),
          ...(from.fundingState ? { fundingState: { in: from.fundingState } } : {}),
        },
        data: { ...to, updatedAt: new Date() },
      });
      if (moved.count === 0) {
        const current = await tx.creditReservation.findUnique({ where: { id } });
        if (!current) throw new NotFoundError("reservation", id);
        throw new IllegalTransitionError(id, name, from.state ? current.state : `${current.state} (funding ${current.fundingState})`);
      }
      const reservation = await tx.creditReservation.findUniqueOrThrow({ where: { id } });
      await publish(tx, reservation);
      return reservation;
    });
  }
}
