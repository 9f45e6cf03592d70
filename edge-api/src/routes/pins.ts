import { Id, MAX_PINS_PER_SHOW, Pin, PinList, PinRequest } from '@mytaek1/contracts';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { ProductStore } from '../domain/catalog.ts';
import { DomainError } from '../domain/errors.ts';
import { assertMayUnpin, type PinStore, type PinView, preparePin } from '../domain/pins.ts';
import type { ShowStore } from '../domain/shows.ts';
import { type AuthEnv, requireUser } from '../middleware/authenticate.ts';
import { validationHook } from '../validation.ts';
import { jsonBody, ok, problem, writeProblems } from './openapi-helpers.ts';

const PinParams = z.object({ id: Id, productId: Id });

const list = createRoute({
  method: 'get',
  path: '/{id}/pins',
  summary: 'The products pinned to a show, with live stock and flash deals',
  request: { params: z.object({ id: Id }) },
  responses: { 200: ok('Pins in slot order', PinList), 400: problem('Invalid id'), 404: problem('No such show') },
});
const pin = createRoute({
  method: 'put',
  path: '/{id}/pins/{productId}',
  summary: `Pin a product to the show, optionally as a flash deal (the show’s seller; at most ${MAX_PINS_PER_SHOW})`,
  request: { params: PinParams, ...jsonBody(PinRequest) },
  responses: { 200: ok('Pinned, or its deal updated', Pin), ...writeProblems, 404: problem('No such show or product'), 409: problem('Every slot is taken, or the show has ended') },
});
const unpin = createRoute({
  method: 'delete',
  path: '/{id}/pins/{productId}',
  summary: 'Unpin a product (the show’s seller)',
  request: { params: PinParams },
  responses: { 204: { description: 'Unpinned' }, ...writeProblems, 404: problem('Not pinned') },
});

export function pinRoutes({ pins, shows, products, now }: { pins: PinStore; shows: ShowStore; products: ProductStore; now: () => number }) {
  const loadShow = async (id: string) => {
    const show = await shows.get(id);
    if (!show) throw new DomainError('not_found', 'no show has that id');
    return show;
  };
  return new OpenAPIHono<AuthEnv>({ defaultHook: validationHook })
    .openapi(list, async (c) => {
      const show = await loadShow(c.req.valid('param').id);
      return c.json({ pins: (await pins.list(show.id)).map(toPin) }, 200);
    })
    .openapi(pin, async (c) => {
      const seller = requireUser(c, 'seller');
      const { id, productId } = c.req.valid('param');
      const { flashDeal } = c.req.valid('json');
      const [show, product] = await Promise.all([loadShow(id), products.get(productId)]);
      if (!product) throw new DomainError('not_found', 'no product has that id');
      const deal = flashDeal
        ? {
            priceAmount: flashDeal.price.amount,
            currency: flashDeal.price.currency,
            startsAt: Date.parse(flashDeal.startsAt),
            endsAt: Date.parse(flashDeal.endsAt),
            totalLimit: flashDeal.totalLimit ?? null,
            perBuyerLimit: flashDeal.perBuyerLimit ?? null,
          }
        : null;
      const outcome = await pins.pin(preparePin(show, product, seller.id, deal, now()));
      if (outcome === 'full') throw new DomainError('conflict', `a show pins at most ${MAX_PINS_PER_SHOW} products: unpin one first`);
      const pinned = (await pins.list(show.id)).find((p) => p.productId === productId);
      if (!pinned) throw new DomainError('conflict', 'the product was unpinned meanwhile');
      return c.json(toPin(pinned), 200);
    })
    .openapi(unpin, async (c) => {
      const seller = requireUser(c, 'seller');
      const { id, productId } = c.req.valid('param');
      assertMayUnpin(await loadShow(id), seller.id);
      if (!(await pins.unpin(id, productId))) throw new DomainError('not_found', 'that product is not pinned to this show');
      return c.body(null, 204);
    });
}

function toPin(pin: PinView): Pin {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    showId: pin.showId,
    productId: pin.productId,
    slot: pin.slot,
    title: pin.title,
    imageUrls: pin.imageUrls,
    price: { amount: pin.priceAmount, currency: pin.currency },
    stock: pin.stock,
    pinnedAt: iso(pin.pinnedAt),
    flashDeal: pin.deal
      ? {
          price: { amount: pin.deal.priceAmount, currency: pin.deal.currency },
          startsAt: iso(pin.deal.startsAt),
          endsAt: iso(pin.deal.endsAt),
          ...(pin.deal.totalLimit === null ? {} : { totalLimit: pin.deal.totalLimit }),
          ...(pin.deal.perBuyerLimit === null ? {} : { perBuyerLimit: pin.deal.perBuyerLimit }),
        }
      : null,
  };
}
