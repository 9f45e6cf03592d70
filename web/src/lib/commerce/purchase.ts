/**
 * One-tap buying from the show page: a purchase attempt opens a checkout (POST /v1/checkout) and
 * confirms its sandbox payment with a card, as a processor's browser SDK would.
 *
 * An attempt owns one Idempotency-Key and sends it on every retry, so a retry after a lost answer,
 * or a second tap, gets the same order back (200) instead of holding units twice. A new attempt,
 * with a new key, starts only once the previous one was refused or paid.
 */
import type { CheckoutResponse, Order } from '@mytaek1/contracts';
import type { ApiClient } from '../api.ts';
import { type ReadProblem, readProblem, refusalMessage } from './problems.ts';

/** The sandbox's card that always pays; 4000 0000 0000 0002 is always declined. */
export const TEST_CARD = '4242 4242 4242 4242';

export interface PurchaseRequest {
  showId: string;
  productId: string;
  quantity: number;
  /** A second order for a product the buyer already has an unpaid order for. */
  allowAnother: boolean;
}

export type CheckoutOutcome =
  /** Units held, order pending: the buyer pays before `checkout.order.payBy`. */
  | { kind: 'opened'; checkout: CheckoutResponse }
  /** This attempt's order is no longer pending (paid, or lapsed and cancelled): a new purchase needs a new attempt. */
  | { kind: 'closed'; order: Order }
  | { kind: 'signed-out' }
  /** The API said no (sold out, limits, an unpaid order…): final for this attempt. */
  | { kind: 'refused'; problem: ReadProblem; message: string }
  /** No answer, or not one that settles it: trying this attempt again is safe. */
  | { kind: 'failed'; message: string };

export type PaymentOutcome =
  | { kind: 'paid' }
  /** Declined or not a card number: the order still waits, another card may be tried. */
  | { kind: 'declined'; message: string }
  /** The payment no longer awaits confirmation (an earlier try went through, or the order lapsed): the order says which. */
  | { kind: 'settled' }
  | { kind: 'failed'; message: string };

/** Retries of an answer-less checkout, with these pauses, before the buyer is asked to try again. */
const RETRY_DELAYS_MS = [300, 900];
/** How long a checkout still being processed (another tab, a double tap) is waited for. */
const IN_PROGRESS_DELAYS_MS = [250, 500, 1000, 1500];

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class PurchaseAttempt {
  readonly request: PurchaseRequest;
  readonly idempotencyKey: string;
  readonly #api: ApiClient;
  readonly #sleep: (ms: number) => Promise<void>;
  #done = false;

  constructor(request: PurchaseRequest, api: ApiClient, { idempotencyKey = crypto.randomUUID(), sleep = defaultSleep }: { idempotencyKey?: string; sleep?: (ms: number) => Promise<void> } = {}) {
    this.request = request;
    this.#api = api;
    this.idempotencyKey = idempotencyKey;
    this.#sleep = sleep;
  }

  /** Refused or paid: another purchase needs a new attempt (and key). */
  get done(): boolean {
    return this.#done;
  }

  async checkout(): Promise<CheckoutOutcome> {
    let unanswered = 0;
    let inProgress = 0;
    for (;;) {
      let retryIn: number | undefined;
      try {
        const response = await this.#api.v1.checkout.$post({ header: { 'idempotency-key': this.idempotencyKey }, json: this.request });
        if (response.status === 201 || response.status === 200) {
          const checkout = await response.json();
          if (checkout.order.status === 'pending') return { kind: 'opened', checkout };
          this.#done = true;
          return { kind: 'closed', order: checkout.order };
        }
        const problem = await readProblem(response);
        if (problem.status === 401) return { kind: 'signed-out' };
        if (problem.reason === 'in-progress') retryIn = IN_PROGRESS_DELAYS_MS[inProgress++];
        // 5xx other than payment-unavailable (which cancelled its order): the outcome is unknown.
        else if (problem.status >= 500 && problem.reason !== 'payment-unavailable') retryIn = RETRY_DELAYS_MS[unanswered++];
        else {
          this.#done = true;
          return { kind: 'refused', problem, message: refusalMessage(problem) };
        }
      } catch {
        retryIn = RETRY_DELAYS_MS[unanswered++];
      }
      if (retryIn === undefined) return { kind: 'failed', message: 'The shop did not answer. Your order was not placed twice: try again.' };
      await this.#sleep(retryIn);
    }
  }

  /** Confirms the checkout's payment with `cardNumber`; the order is paid when this says `paid`. */
  async pay(checkout: CheckoutResponse, cardNumber: string): Promise<PaymentOutcome> {
    const invalid = cardNumberProblem(cardNumber);
    if (invalid) return { kind: 'declined', message: invalid };
    let response;
    try {
      response = await this.#api.v1.sandbox['payment-intents'][':id'].confirm.$post({
        param: { id: checkout.payment.intentId },
        json: { clientSecret: checkout.payment.clientSecret, cardNumber: formatCardNumber(cardNumber) },
      });
    } catch {
      return { kind: 'failed', message: 'The payment could not be confirmed. Try again: you will not be charged twice.' };
    }
    if (response.status === 200) {
      this.#done = true;
      return { kind: 'paid' };
    }
    const problem = await readProblem(response);
    if (problem.status === 409) {
      this.#done = true;
      return { kind: 'settled' };
    }
    if (problem.status === 400) {
      return { kind: 'declined', message: problem.reason === 'card-declined' ? refusalMessage(problem) : 'That card number does not look right.' };
    }
    return { kind: 'failed', message: 'The payment could not be confirmed. Try again: you will not be charged twice.' };
  }
}

/** The previous attempt when it may still be retried for the same purchase, else a new one. */
export function attemptFor(previous: PurchaseAttempt | undefined, request: PurchaseRequest, api: ApiClient): PurchaseAttempt {
  const same = previous && !previous.done && JSON.stringify(previous.request) === JSON.stringify(request);
  return same ? previous : new PurchaseAttempt(request, api);
}

/** "4242424242424242" → "4242 4242 4242 4242": digits only, in groups of four, at most 19 digits. */
export function formatCardNumber(text: string): string {
  return (text.replace(/\D/g, '').slice(0, 19).match(/.{1,4}/g) ?? []).join(' ');
}

/** Why `text` cannot be a card number, or null when it could be one. */
export function cardNumberProblem(text: string): string | null {
  const digits = text.replace(/[\s-]/g, '');
  if (!/^\d*$/.test(digits)) return 'A card number has digits only.';
  if (digits.length < 12 || digits.length > 19) return 'Enter the card’s full number (12 to 19 digits).';
  return null;
}

/** The buyer's unpaid order of this product in this show, if any: where "view your unpaid order" goes. */
export async function findUnpaidOrder(api: ApiClient, showId: string, productId: string): Promise<string | null> {
  try {
    const response = await api.v1.orders.$get({ query: {} });
    if (response.status !== 200) return null;
    const { orders } = await response.json();
    return orders.find((order) => order.status === 'pending' && order.showId === showId && order.productId === productId)?.id ?? null;
  } catch {
    return null;
  }
}

/**
 * Cancels an unpaid order (its units go back on sale) and answers the order as it now stands: a
 * refusal (it was paid a moment ago, or had lapsed) is answered with the order as it is. Null when
 * the API cannot be reached.
 */
export async function cancelOrder(api: ApiClient, orderId: string): Promise<Order | null> {
  try {
    const cancelled = await api.v1.orders[':id'].cancel.$post({ param: { id: orderId } });
    if (cancelled.status === 200) return await cancelled.json();
    const current = await api.v1.orders[':id'].$get({ param: { id: orderId } });
    return current.status === 200 ? await current.json() : null;
  } catch {
    return null;
  }
}

/** Where a signed-out visitor signs in, coming back to `here` (a path on this site) afterwards, as the site header's link does. */
export function loginHref(here: string): string {
  return `/login?redirectTo=${encodeURIComponent(here)}`;
}

/** Remembered unpaid checkouts, so an order page can reopen the payment by replaying the same key. */
const UNPAID_KEY = 'mytaek1.unpaid-checkouts';

interface RememberedCheckout {
  idempotencyKey: string;
  request: PurchaseRequest;
  payBy: string;
}

export class UnpaidCheckouts {
  readonly #storage: Pick<Storage, 'getItem' | 'setItem'> | undefined;
  readonly #now: () => number;

  constructor(storage: Pick<Storage, 'getItem' | 'setItem'> | undefined = safeLocalStorage(), now: () => number = Date.now) {
    this.#storage = storage;
    this.#now = now;
  }

  remember(checkout: CheckoutResponse, attempt: PurchaseAttempt): void {
    if (checkout.order.status !== 'pending' || !checkout.order.payBy) return;
    this.#write({ ...this.#read(), [checkout.order.id]: { idempotencyKey: attempt.idempotencyKey, request: attempt.request, payBy: checkout.order.payBy } });
  }

  /** The attempt that opened `orderId`, to replay (same key: same order, same payment), or null. */
  resume(orderId: string, api: ApiClient): PurchaseAttempt | null {
    const remembered = this.#read()[orderId];
    return remembered ? new PurchaseAttempt(remembered.request, api, { idempotencyKey: remembered.idempotencyKey }) : null;
  }

  forget(orderId: string): void {
    const { [orderId]: _forgotten, ...rest } = this.#read();
    this.#write(rest);
  }

  /** What is stored, without checkouts whose payment window has passed. */
  #read(): Record<string, RememberedCheckout> {
    try {
      const all = JSON.parse(this.#storage?.getItem(UNPAID_KEY) ?? '{}') as Record<string, RememberedCheckout>;
      return Object.fromEntries(Object.entries(all).filter(([, entry]) => Date.parse(entry.payBy) > this.#now()));
    } catch {
      return {};
    }
  }

  #write(entries: Record<string, RememberedCheckout>): void {
    try {
      this.#storage?.setItem(UNPAID_KEY, JSON.stringify(entries));
    } catch {
      // Storage full or blocked: the order page then offers cancelling only.
    }
  }
}

function safeLocalStorage(): Storage | undefined {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined;
  }
}
