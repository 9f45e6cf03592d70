import { Id, Problem, Show, ShowList } from '@mytaek1/contracts';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { DomainError } from '../domain/errors.ts';
import type { ShowStore, ShowSummary } from '../domain/shows.ts';
import { validationHook } from '../validation.ts';

const LIST_LIMIT = 50;

const listShows = createRoute({
  method: 'get',
  path: '/',
  summary: 'Live, upcoming and ended shows',
  responses: { 200: { description: 'Shows by status', content: { 'application/json': { schema: ShowList } } } },
});

const getShow = createRoute({
  method: 'get',
  path: '/{id}',
  summary: 'One show',
  request: { params: z.object({ id: Id }) },
  responses: {
    200: { description: 'The show', content: { 'application/json': { schema: Show } } },
    404: { description: 'No such show', content: { 'application/problem+json': { schema: Problem } } },
  },
});

export function showRoutes({ shows }: { shows: ShowStore }) {
  return new OpenAPIHono({ defaultHook: validationHook })
    .openapi(listShows, async (c) => {
      const [live, upcoming, ended] = await Promise.all([
        shows.listByStatus('live', LIST_LIMIT),
        shows.listByStatus('scheduled', LIST_LIMIT),
        shows.listByStatus('ended', LIST_LIMIT),
      ]);
      return c.json({ live: live.map(toShow), upcoming: upcoming.map(toShow), ended: ended.map(toShow) }, 200);
    })
    .openapi(getShow, async (c) => {
      const show = await shows.get(c.req.valid('param').id);
      if (!show) throw new DomainError('not_found', 'no show has that id');
      return c.json(toShow(show), 200);
    });
}

export function toShow(show: ShowSummary): Show {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    id: show.id,
    sellerId: show.sellerId,
    sellerName: show.sellerName,
    title: show.title,
    description: show.description,
    status: show.status,
    scheduledAt: new Date(show.scheduledAt).toISOString(),
    startedAt: iso(show.startedAt),
    endedAt: iso(show.endedAt),
  };
}
