import { Id, ScheduleShowRequest, Show, ShowList } from '@mytaek1/contracts';
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { DomainError } from '../domain/errors.ts';
import { endShow, goLive, scheduleShow, type ShowRecord, type ShowStore, type ShowSummary } from '../domain/shows.ts';
import { type AuthEnv, requireUser } from '../middleware/authenticate.ts';
import { jsonBody, ok, problem, writeProblems } from './openapi-helpers.ts';
import { validationHook } from '../validation.ts';

const LIST_LIMIT = 50;

const listShows = createRoute({
  method: 'get',
  path: '/',
  summary: 'Live, upcoming and ended shows',
  responses: { 200: ok('Shows by status', ShowList) },
});

const getShow = createRoute({
  method: 'get',
  path: '/{id}',
  summary: 'One show',
  request: { params: z.object({ id: Id }) },
  responses: { 200: ok('The show', Show), 400: problem('Invalid id'), 404: problem('No such show') },
});

const schedule = createRoute({
  method: 'post',
  path: '/',
  summary: 'Schedule a show (sellers)',
  request: jsonBody(ScheduleShowRequest),
  responses: { 201: ok('Scheduled', Show), ...writeProblems },
});

const transition = <P extends string>(path: P, summary: string) =>
  createRoute({
    method: 'post',
    path,
    summary,
    request: { params: z.object({ id: Id }) },
    responses: { 200: ok('The show', Show), ...writeProblems, 404: problem('No such show'), 409: problem('Not possible in the show’s state') },
  });
const startShow = transition('/{id}/live', 'Go live (the show’s seller)');
const finishShow = transition('/{id}/end', 'End the show (the show’s seller)');

export function showRoutes({ shows, now, newId }: { shows: ShowStore; now: () => number; newId: () => string }) {
  const load = async (id: string) => {
    const show = await shows.get(id);
    if (!show) throw new DomainError('not_found', 'no show has that id');
    return show;
  };
  /** Stores a transition unless another request changed the show since it was read. */
  const save = async (before: ShowSummary, after: ShowRecord): Promise<Show> => {
    if (!(await shows.update(after))) throw new DomainError('conflict', 'the show changed meanwhile; reload and try again');
    return toShow({ ...after, sellerName: before.sellerName });
  };
  return new OpenAPIHono<AuthEnv>({ defaultHook: validationHook })
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
    })
    .openapi(schedule, async (c) => {
      const seller = requireUser(c, 'seller');
      const body = c.req.valid('json');
      const show = scheduleShow({ sellerId: seller.id, title: body.title, description: body.description, scheduledAt: Date.parse(body.scheduledAt) }, newId());
      await shows.insert(show);
      return c.json(toShow({ ...show, sellerName: seller.displayName }), 201);
    })
    .openapi(startShow, async (c) => {
      const seller = requireUser(c, 'seller');
      const show = await load(c.req.valid('param').id);
      return c.json(await save(show, goLive(show, seller.id, now())), 200);
    })
    .openapi(finishShow, async (c) => {
      const seller = requireUser(c, 'seller');
      const show = await load(c.req.valid('param').id);
      return c.json(await save(show, endShow(show, seller.id, now())), 200);
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
    replay: show.replay ? { playlistUrl: show.replay.playlistUrl, durationSeconds: show.replay.durationMs / 1000 } : null,
  };
}
