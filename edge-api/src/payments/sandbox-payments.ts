import type { Kysely, Selectable } from 'kysely';
import type { PaymentIntent, PaymentIntentStatus, PaymentProvider } from '../domain/checkout.ts';
import { DomainError } from '../domain/errors.ts';
import type { Database, SandboxPaymentIntentsTable } from '../db/schema.ts';
import { isUniqueViolation } from '../db/errors.ts';
import { signWebhook } from './webhook-signature.ts';

/** The card number that the sandbox declines, like the test cards of real processors. */
export const DECLINED_TEST_CARD = '4000000000000002';

export type SandboxEventType =
  | 'payment_intent.amount_capturable_updated'
  | 'payment_intent.succeeded'
  | 'payment_intent.payment_failed'
  | 'payment_intent.canceled'
  | 'charge.refunded';

export interface SandboxEvent {
  id: string;
  type: SandboxEventType;
  created: number;
  data: { object: { id: string; status: PaymentIntentStatus; amount: number; currency: string; reference: string } };
}

export interface SandboxPaymentsOptions {
  db: Kysely<Database>;
  webhookSecret: string;
  /** Delivers a signed webhook request to the merchant (the edge API's webhook route). */
  deliver: (request: Request) => Promise<Response>;
  webhookUrl: string;
  now?: () => number;
}

/**
 * A payment processor that runs inside the platform for development, demos and tests, and
 * behaves like a real one: intents that are confirmed by the buyer (authorised), then captured or
 * cancelled by the merchant, refunds, and every change announced by a signed, timestamped webhook.
 * Its records are its own tables: the checkout talks to it only through PaymentProvider.
 */
export class SandboxPayments implements PaymentProvider {
  readonly #db: Kysely<Database>;
  readonly #webhookSecret: string;
  readonly #deliver: SandboxPaymentsOptions['deliver'];
  readonly #webhookUrl: string;
  readonly #now: () => number;

  constructor({ db, webhookSecret, deliver, webhookUrl, now = Date.now }: SandboxPaymentsOptions) {
    this.#db = db;
    this.#webhookSecret = webhookSecret;
    this.#deliver = deliver;
    this.#webhookUrl = webhookUrl;
    this.#now = now;
  }

  async createIntent({ amount, currency, reference }: { amount: number; currency: string; reference: string }): Promise<PaymentIntent> {
    const existing = await this.#findByReference(reference);
    if (existing) return existing;
    const id = `pi_${randomToken(18)}`;
    const now = this.#now();
    try {
      await this.#db
        .insertInto('sandbox_payment_intents')
        .values({ id, amount, currency, status: 'requires_confirmation', reference, client_secret: `${id}_secret_${randomToken(18)}`, amount_refunded: 0, created_at: now, updated_at: now })
        .execute();
    } catch (error) {
      // A concurrent request for the same reference won: answer with its intent.
      if (!isUniqueViolation(error)) throw error;
    }
    return (await this.#findByReference(reference))!;
  }

  async getIntent(intentId: string): Promise<PaymentIntent | null> {
    const row = await this.#row(intentId);
    return row ? toIntent(row) : null;
  }

  /** The buyer's side: what a processor's browser SDK does with the client secret and a card. */
  async confirm(intentId: string, clientSecret: string, cardNumber: string): Promise<PaymentIntent> {
    const row = await this.#row(intentId);
    if (!row || row.client_secret !== clientSecret) throw new DomainError('not_found', 'no payment intent matches that client secret');
    if (row.status !== 'requires_confirmation') throw new DomainError('conflict', `the payment is ${row.status.replace('_', ' ')}`, { reason: 'payment-not-confirmable' });
    if (cardNumber.replace(/\s/g, '') === DECLINED_TEST_CARD) {
      await this.#emit('payment_intent.payment_failed', row);
      throw new DomainError('invalid', 'the card was declined', { reason: 'card-declined' });
    }
    const authorised = await this.#move(intentId, ['requires_confirmation'], 'requires_capture');
    if (!authorised) throw new DomainError('conflict', 'the payment changed meanwhile', { reason: 'payment-not-confirmable' });
    await this.#emit('payment_intent.amount_capturable_updated', authorised);
    return toIntent((await this.#row(intentId))!);
  }

  async capture(intentId: string): Promise<PaymentIntentStatus> {
    const captured = await this.#move(intentId, ['requires_capture'], 'succeeded');
    if (captured) await this.#emit('payment_intent.succeeded', captured);
    return captured ? 'succeeded' : this.#statusOf(intentId);
  }

  async cancel(intentId: string): Promise<PaymentIntentStatus> {
    const canceled = await this.#move(intentId, ['requires_confirmation', 'requires_capture'], 'canceled');
    if (canceled) await this.#emit('payment_intent.canceled', canceled);
    return canceled ? 'canceled' : this.#statusOf(intentId);
  }

  async refund(intentId: string): Promise<void> {
    const row = await this.#row(intentId);
    if (!row || row.status !== 'succeeded') throw new DomainError('conflict', 'only a captured payment can be refunded');
    const refunded = await this.#db
      .updateTable('sandbox_payment_intents')
      .set({ amount_refunded: row.amount, updated_at: this.#now() })
      .where('id', '=', intentId)
      .where('amount_refunded', '=', 0)
      .executeTakeFirst();
    if (refunded.numUpdatedRows === 1n) await this.#emit('charge.refunded', row);
  }

  /** Moves an intent between states only from the states given: two racing moves cannot both win. */
  async #move(intentId: string, from: Selectable<SandboxPaymentIntentsTable>['status'][], to: Selectable<SandboxPaymentIntentsTable>['status']) {
    const moved = await this.#db
      .updateTable('sandbox_payment_intents')
      .set({ status: to, updated_at: this.#now() })
      .where('id', '=', intentId)
      .where('status', 'in', from)
      .executeTakeFirst();
    return moved.numUpdatedRows === 1n ? this.#row(intentId) : undefined;
  }

  async #statusOf(intentId: string): Promise<PaymentIntentStatus> {
    const row = await this.#row(intentId);
    if (!row) throw new DomainError('not_found', 'no payment intent has that id');
    return row.status;
  }

  #row(intentId: string) {
    return this.#db.selectFrom('sandbox_payment_intents').selectAll().where('id', '=', intentId).executeTakeFirst();
  }

  async #findByReference(reference: string): Promise<PaymentIntent | null> {
    const row = await this.#db.selectFrom('sandbox_payment_intents').selectAll().where('reference', '=', reference).executeTakeFirst();
    return row ? toIntent(row) : null;
  }

  /** Signs and delivers one event; a failed delivery is retried a few times, as processors do. */
  async #emit(type: SandboxEventType, row: Selectable<SandboxPaymentIntentsTable> | undefined): Promise<void> {
    if (!row) return;
    const event: SandboxEvent = {
      id: `evt_${randomToken(18)}`,
      type,
      created: Math.floor(this.#now() / 1000),
      data: { object: { id: row.id, status: row.status, amount: Number(row.amount), currency: row.currency.trim(), reference: row.reference } },
    };
    const body = JSON.stringify(event);
    for (let attempt = 1; attempt <= 3; attempt++) {
      const signature = await signWebhook(this.#webhookSecret, body, Math.floor(this.#now() / 1000));
      try {
        const response = await this.#deliver(new Request(this.#webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'sandbox-signature': signature }, body }));
        if (response.ok) return;
      } catch {
        // delivery failed: retry below
      }
      await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
    }
  }
}

function toIntent(row: Selectable<SandboxPaymentIntentsTable>): PaymentIntent {
  return { id: row.id, status: row.status, amount: Number(row.amount), currency: row.currency.trim(), clientSecret: row.client_secret };
}

function randomToken(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(36).padStart(2, '0')).join('').slice(0, bytes);
}
