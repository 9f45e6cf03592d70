import { SandboxConfirmRequest } from '@mytaek1/contracts';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { SqlWebhookEventStore } from '../db/webhook-event-store.ts';
import type { Checkout } from '../domain/checkout.ts';
import { DomainError } from '../domain/errors.ts';
import type { SandboxEvent, SandboxPayments } from '../payments/sandbox-payments.ts';
import { SIGNATURE_HEADER, verifyWebhook } from '../payments/webhook-signature.ts';
import type { AuthEnv } from '../middleware/authenticate.ts';
import { validationHook } from '../validation.ts';
import { jsonBody, ok, problem } from './openapi-helpers.ts';

const webhook = createRoute({
  method: 'post',
  path: '/payments/webhook',
  summary: 'Payment events from the provider (signed; replays are acknowledged and ignored)',
  responses: { 200: ok('Received', z.object({ received: z.literal(true), duplicate: z.boolean() })), 400: problem('Unsigned, stale or forged') },
});

const confirm = createRoute({
  method: 'post',
  path: '/sandbox/payment-intents/{id}/confirm',
  summary: 'Sandbox only: the buyer confirms a payment with a test card (4000 0000 0000 0002 is declined)',
  request: { params: z.object({ id: z.string().min(1).max(64) }), ...jsonBody(SandboxConfirmRequest) },
  responses: {
    200: ok('Authorised', z.object({ intentId: z.string(), status: z.string() })),
    400: problem('Declined or invalid'),
    404: problem('No such intent'),
    409: problem('Not awaiting confirmation'),
  },
});

export interface PaymentRouteDeps {
  checkout: Checkout;
  sandbox: SandboxPayments | null;
  webhookSecret: string;
  webhookEvents: SqlWebhookEventStore;
  now: () => number;
}

export function paymentRoutes({ checkout, sandbox, webhookSecret, webhookEvents, now }: PaymentRouteDeps) {
  return new OpenAPIHono<AuthEnv>({ defaultHook: validationHook })
    .openapi(webhook, async (c) => {
    const body = await c.req.text();
    const verdict = await verifyWebhook(webhookSecret, body, c.req.header(SIGNATURE_HEADER), Math.floor(now() / 1000));
    if (!verdict.ok) throw new DomainError('invalid', `webhook signature ${verdict.reason}`, { reason: 'bad-webhook-signature' });
    const event = JSON.parse(body) as SandboxEvent;
    if (await webhookEvents.seen(event.id)) return c.json({ received: true as const, duplicate: true }, 200);

    // Handlers are idempotent (conditional transitions); the event is recorded once applied.
    if (event.type === 'payment_intent.amount_capturable_updated') await checkout.onPaymentAuthorized(event.data.object.id);
    else if (event.type === 'payment_intent.succeeded') await checkout.onPaymentSucceeded(event.data.object.id);
    await webhookEvents.record(event.id, now());
    return c.json({ received: true as const, duplicate: false }, 200);
  })
    .openapi(confirm, async (c) => {
    if (!sandbox) throw new DomainError('not_found', 'the sandbox payment provider is not in use here');
    const { clientSecret, cardNumber } = c.req.valid('json');
    const intent = await sandbox.confirm(c.req.valid('param').id, clientSecret, cardNumber);
    return c.json({ intentId: intent.id, status: intent.status }, 200);
  });
}
