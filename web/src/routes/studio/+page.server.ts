import { error, redirect } from '@sveltejs/kit';
import { resolve } from '$app/paths';
import type { Pin, Show } from '@mytaek1/contracts';
import { reachEdgeApi } from '../../lib/api.ts';
import { formText, formValues, refuse, submitToApi, type FormRef, type FormSuccess, type RefusalContext } from '../../lib/forms.ts';
import {
  PIN_API_FIELDS,
  PIN_FIELDS,
  PRODUCT_API_FIELDS,
  PRODUCT_FIELDS,
  readPinForm,
  readProductForm,
  readShowForm,
  type ReadForm,
  SHOW_API_FIELDS,
  SHOW_FIELDS,
  wantsFlashDeal,
} from '../../lib/studio-forms.server.ts';
import { absolutePath } from '../../lib/paths.ts';
import { knownTimeZone } from '../../lib/wall-time.ts';
import type { Actions, PageServerLoad } from './$types';

/** Ended shows listed under "Past shows"; the studio is for what is on and coming. */
const PAST_SHOWS_LISTED = 10;

/** Sign-in, then back to the studio. */
const loginAgain = (here: URL) => `${absolutePath(resolve('/login'), here)}?redirectTo=${encodeURIComponent(absolutePath(resolve('/studio'), here))}`;

export const load: PageServerLoad = async ({ locals, parent, setHeaders, url }) => {
  const { user } = await parent();
  if (!user) redirect(303, loginAgain(url));
  if (user.role !== 'seller') {
    error(403, `The studio is for sellers, and ${user.displayName} is a shopper account. To sell, sign out and create an account with “I want to sell” ticked.`);
  }
  // The page carries the seller's stream key: no shared cache may keep it.
  setHeaders({ 'cache-control': 'private, no-store' });

  const [productsResponse, showsResponse, streamKeyResponse] = await reachEdgeApi(() =>
    Promise.all([
      locals.api.v1.products.$get({ query: { sellerId: user.id, limit: '100' } }),
      locals.api.v1.shows.$get(),
      locals.api.v1['stream-key'].$get(),
    ]),
  );
  if (productsResponse.status !== 200) upstreamFailed('GET /v1/products', productsResponse.status);
  if (showsResponse.status !== 200) upstreamFailed('GET /v1/shows', showsResponse.status);
  // Widened on purpose: a proxy or a crash can answer with a status the route does not declare.
  const streamKeyStatus: number = streamKeyResponse.status;
  if (streamKeyStatus === 401) redirect(303, loginAgain(url));
  if (streamKeyStatus !== 200 && streamKeyStatus !== 404) upstreamFailed('GET /v1/stream-key', streamKeyStatus);

  const { products } = await productsResponse.json();
  const allShows = await showsResponse.json();
  // GET /v1/shows lists every seller's shows (up to 50 per status); the studio keeps this seller's.
  const mine = (shows: Show[]) => shows.filter((show) => show.sellerId === user.id);
  const openShows = [...mine(allShows.live), ...mine(allShows.upcoming).sort((a, b) => Date.parse(a.scheduledAt) - Date.parse(b.scheduledAt))];
  const pastShows = mine(allShows.ended).slice(0, PAST_SHOWS_LISTED);

  const pinsByShow = await reachEdgeApi(() => Promise.all(openShows.map((show) => pinsOf(locals.api, show.id))));
  return {
    seller: user,
    products,
    openShows: openShows.map((show, index) => ({ show, pins: pinsByShow[index]! })),
    pastShows,
    streamKey: streamKeyResponse.status === 200 ? await streamKeyResponse.json() : null,
  };
};

async function pinsOf(api: App.Locals['api'], showId: string): Promise<Pin[]> {
  const response = await api.v1.shows[':id'].pins.$get({ param: { id: showId } });
  if (response.status !== 200) upstreamFailed(`GET /v1/shows/${showId}/pins`, response.status);
  return (await response.json()).pins;
}

function upstreamFailed(call: string, status: number): never {
  console.error(`web: ${call} answered ${status}`);
  error(502, 'The studio could not load everything it needs. Please try again in a moment.');
}

/** The refusal context every studio form shares: a session that ended mid-way goes back to sign-in. */
function studioForm(here: URL, form: string, values: Record<string, string>, extra: Partial<RefusalContext> = {}): RefusalContext {
  return { form, values, signInAt: loginAgain(here), ...extra };
}

/** A form that could not even be turned into a request: its fields go back with what to fix. */
function refuseUnread(ref: FormRef, values: Record<string, string>, read: Extract<ReadForm<unknown>, { ok: false }>) {
  return refuse(400, { ...ref, values, fieldErrors: read.fieldErrors, ...(read.message ? { message: read.message } : {}) });
}

function done(form: string, notice: string, subject?: string): FormSuccess {
  return subject === undefined ? { form, notice } : { form, subject, notice };
}

export const actions = {
  createProduct: async ({ request, locals, url }) => {
    const values = formValues(await request.formData(), PRODUCT_FIELDS);
    const read = readProductForm(values);
    if (!read.ok) return refuseUnread({ form: 'createProduct' }, values, read);
    const sent = await submitToApi(() => locals.api.v1.products.$post({ json: read.request }), 201, studioForm(url, 'createProduct', values, { fields: PRODUCT_API_FIELDS }));
    if (!sent.ok) return sent.failure;
    const product = await sent.response.json();
    return done('createProduct', `“${product.title}” is in your catalogue.`);
  },

  updateProduct: async ({ request, locals, url }) => {
    const data = await request.formData();
    const productId = formText(data, 'productId');
    const values = formValues(data, PRODUCT_FIELDS);
    const read = readProductForm(values);
    if (!read.ok) return refuseUnread({ form: 'updateProduct', subject: productId }, values, read);
    const sent = await submitToApi(
      () => locals.api.v1.products[':id'].$patch({ param: { id: productId }, json: read.request }),
      200,
      studioForm(url, 'updateProduct', values, { subject: productId, fields: PRODUCT_API_FIELDS }),
    );
    if (!sent.ok) return sent.failure;
    return done('updateProduct', 'Changes saved.', productId);
  },

  archiveProduct: async ({ request, locals, url }) => {
    const productId = formText(await request.formData(), 'productId');
    const sent = await submitToApi(() => locals.api.v1.products[':id'].archive.$post({ param: { id: productId } }), 200, studioForm(url, 'archiveProduct', {}, { subject: productId }));
    if (!sent.ok) return sent.failure;
    const product = await sent.response.json();
    // The product leaves the list, so the confirmation goes to the list rather than to its row.
    return done('products', `“${product.title}” is archived: it left your catalogue and its pins. Its orders stay.`);
  },

  scheduleShow: async ({ request, locals, url }) => {
    const data = await request.formData();
    const values = formValues(data, SHOW_FIELDS);
    const read = readShowForm(values, knownTimeZone(formText(data, 'timeZone')));
    if (!read.ok) return refuseUnread({ form: 'scheduleShow' }, values, read);
    const sent = await submitToApi(() => locals.api.v1.shows.$post({ json: read.request }), 201, studioForm(url, 'scheduleShow', values, { fields: SHOW_API_FIELDS }));
    if (!sent.ok) return sent.failure;
    const show = await sent.response.json();
    return done('scheduleShow', `“${show.title}” is scheduled and listed under Upcoming.`);
  },

  goLive: async ({ request, locals, url }) => {
    const showId = formText(await request.formData(), 'showId');
    const sent = await submitToApi(() => locals.api.v1.shows[':id'].live.$post({ param: { id: showId } }), 200, studioForm(url, 'showState', {}, { subject: showId }));
    if (!sent.ok) return sent.failure;
    return done('showState', 'You are live: the show is listed under Live now.', showId);
  },

  endShow: async ({ request, locals, url }) => {
    const showId = formText(await request.formData(), 'showId');
    const sent = await submitToApi(() => locals.api.v1.shows[':id'].end.$post({ param: { id: showId } }), 200, studioForm(url, 'showState', {}, { subject: showId }));
    if (!sent.ok) return sent.failure;
    const show = await sent.response.json();
    return done('shows', `“${show.title}” has ended. It is listed under Past shows.`);
  },

  pin: async ({ request, locals, url }) => {
    const data = await request.formData();
    const showId = formText(data, 'showId');
    const values = formValues(data, PIN_FIELDS);
    const context = studioForm(url, 'pin', values, { subject: showId, fields: PIN_API_FIELDS });
    if (!values.productId) return refuse(400, { form: 'pin', subject: showId, values, fieldErrors: { productId: 'choose a product to pin' } });

    // A deal is priced in the product's currency, which the form does not carry.
    let currency = '';
    if (wantsFlashDeal(values)) {
      const product = await submitToApi(() => locals.api.v1.products[':id'].$get({ param: { id: values.productId! } }), 200, {
        ...context,
        byStatus: { 404: { field: 'productId', message: 'that product no longer exists' }, 400: { field: 'productId', message: 'choose one of your products' } },
      });
      if (!product.ok) return product.failure;
      currency = (await product.response.json()).price.currency;
    }
    const read = readPinForm(values, currency, knownTimeZone(formText(data, 'timeZone')), Date.now());
    if (!read.ok) return refuseUnread({ form: 'pin', subject: showId }, values, read);
    const sent = await submitToApi(() => locals.api.v1.shows[':id'].pins[':productId'].$put({ param: { id: showId, productId: values.productId! }, json: read.request }), 200, context);
    if (!sent.ok) return sent.failure;
    const pin = await sent.response.json();
    return done('pin', pin.flashDeal ? `“${pin.title}” is pinned as a flash deal.` : `“${pin.title}” is pinned.`, showId);
  },

  unpin: async ({ request, locals, url }) => {
    const data = await request.formData();
    const showId = formText(data, 'showId');
    const productId = formText(data, 'productId');
    const sent = await submitToApi(() => locals.api.v1.shows[':id'].pins[':productId'].$delete({ param: { id: showId, productId } }), 204, studioForm(url, 'unpin', {}, { subject: showId }));
    if (!sent.ok) return sent.failure;
    return done('unpin', 'Unpinned.', showId);
  },

  rotateStreamKey: async ({ request, locals, url }) => {
    const data = await request.formData();
    if (formText(data, 'replacing') === 'yes' && formText(data, 'confirm') !== 'yes') return unconfirmed('replace');
    const sent = await submitToApi(() => locals.api.v1['stream-key'].rotate.$post(), 200, studioForm(url, 'streamKey', {}));
    if (!sent.ok) return sent.failure;
    return done('streamKey', formText(data, 'replacing') === 'yes' ? 'New stream key issued. Paste it into OBS: the old one no longer works.' : 'Stream key created. Paste it into OBS to go live from there.');
  },

  revokeStreamKey: async ({ request, locals, url }) => {
    if (formText(await request.formData(), 'confirm') !== 'yes') return unconfirmed('revoke');
    const sent = await submitToApi(() => locals.api.v1['stream-key'].$delete(), 204, studioForm(url, 'streamKey', {}));
    if (!sent.ok) return sent.failure;
    return done('streamKey', 'Stream key revoked: OBS can no longer publish until you create a new key.');
  },
} satisfies Actions;

/** Replacing or revoking the key stops OBS mid-stream, so the form asks for a tick first (without JavaScript too). */
function unconfirmed(what: 'replace' | 'revoke') {
  return refuse(400, {
    form: 'streamKey',
    values: {},
    fieldErrors: { confirm: `tick this box to ${what} the key: OBS stops publishing until you paste a new one` },
  });
}
