/**
 * The edge API's refusals (RFC 9457 problems, see @mytaek1/contracts problem.ts) as a buyer reads
 * them. A problem's `type` ends in a reason slug (`…/problems/sold-out`); the UI switches on that
 * slug, never on the status or the wording of `detail`.
 */

/** The reasons checkout and payment can be refused for, as the edge API names them. */
export type CommerceReason =
  | 'sold-out'
  | 'deal-sold-out'
  | 'buyer-limit'
  | 'pending-order'
  | 'show-not-live'
  | 'not-pinned'
  | 'card-declined'
  | 'idempotency-key-reused'
  | 'in-progress'
  | 'payment-unavailable'
  | 'payment-not-confirmable';

export interface ReadProblem {
  status: number;
  /** The last segment of the problem's `type`: `sold-out`, `forbidden`, `blank` for `about:blank`. */
  reason: string;
  detail: string | undefined;
}

/** `https://…/problems/sold-out` → `sold-out`; `about:blank` → `blank`. */
export function reasonOf(problemType: string): string {
  return problemType.split(/[/:]/).at(-1) ?? '';
}

/** The problem in an error response; a body that is not one (a crashed proxy's HTML) still gives its status. */
export async function readProblem(response: { status: number; json(): Promise<unknown> }): Promise<ReadProblem> {
  const body: unknown = await response.json().catch(() => undefined);
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  return {
    status: response.status,
    reason: typeof fields.type === 'string' ? reasonOf(fields.type) : '',
    detail: typeof fields.detail === 'string' ? fields.detail : undefined,
  };
}

/** What a buyer is told, in plain words, when a checkout or a payment is refused for `reason`. */
const MESSAGES: Partial<Record<CommerceReason, string>> = {
  'sold-out': 'Sold out: every unit has been bought.',
  'deal-sold-out': 'The flash deal has sold out.',
  'buyer-limit': 'You already have as many as this deal allows per buyer.',
  'pending-order': 'You already have an unpaid order for this product.',
  'show-not-live': 'This show is not live, so its products cannot be bought right now.',
  'not-pinned': 'This product is no longer on sale in this show.',
  'card-declined': 'Your card was declined. Try another card.',
  'payment-unavailable': 'Payments are unavailable right now and nothing was charged. Please try again in a moment.',
};

/** The message for a refusal; `forbidden` (a seller buying their own product) and anything unknown get one too. */
export function refusalMessage(problem: ReadProblem): string {
  const known = MESSAGES[problem.reason as CommerceReason];
  if (known) return known;
  if (problem.status === 403) return 'Sellers cannot buy their own products.';
  if (problem.status === 429) return 'Too many tries in a row. Please wait a moment and try again.';
  return 'This purchase could not be completed. Please try again.';
}
