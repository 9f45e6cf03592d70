import { isActionFailure, isRedirect } from '@sveltejs/kit';
import { describe, expect, it } from 'vitest';
import { describeRefusal, feedbackFor, placeFieldErrors, submitToApi, UNREACHABLE_MESSAGE } from './forms.ts';

function problemResponse(status: number, problem: object, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ type: 'about:blank', title: 'Refused', status, ...problem }), {
    status,
    headers: { 'content-type': 'application/problem+json', ...headers },
  });
}

const form = { form: 'createProduct', values: { title: ' ', price: '29.00' } };

describe('describeRefusal', () => {
  it('puts each validation error next to the field it names, a path prefix covering the paths under it', async () => {
    const response = problemResponse(400, {
      errors: [
        { path: 'title', message: 'must not be empty' },
        { path: 'price.amount', message: 'too big' },
        { path: 'price.currency', message: 'must be an ISO 4217 currency code such as USD' },
        { path: 'title', message: 'a second complaint' },
      ],
    });
    const failure = await describeRefusal(response, { ...form, fields: { title: 'title', price: 'price', 'price.currency': 'currency' } });
    expect(failure).toEqual({
      form: 'createProduct',
      values: form.values,
      fieldErrors: { title: 'must not be empty', price: 'too big', currency: 'must be an ISO 4217 currency code such as USD' },
    });
  });

  it('never drops an error no field shows: it goes above the form', async () => {
    const response = problemResponse(400, { errors: [{ path: 'imageUrls.0', message: 'must be an http(s) URL' }, { path: '(body)', message: 'name at least one field to change' }] });
    const failure = await describeRefusal(response, { ...form, fields: { title: 'title' } });
    expect(failure.message).toBe('imageUrls.0: Must be an http(s) URL. Name at least one field to change.');
  });

  it('words conflicts from the problem’s detail, and rate limits with the wait from Retry-After', async () => {
    expect((await describeRefusal(problemResponse(409, { detail: 'a show that is live cannot go live' }), form)).message).toBe('A show that is live cannot go live.');
    expect((await describeRefusal(problemResponse(429, { detail: 'too many' }, { 'retry-after': '42' }), form)).message).toBe('Too many attempts. Try again in 42 seconds.');
    expect((await describeRefusal(problemResponse(429, {}, { 'retry-after': '600' }), form)).message).toBe('Too many attempts. Try again in 10 minutes.');
    expect((await describeRefusal(problemResponse(429, {}), form)).message).toBe('Too many attempts. Please wait a minute, then try again.');
  });

  it('lets a form word a status its own way, for the whole form or one field', async () => {
    const taken = await describeRefusal(problemResponse(409, { detail: 'an account with that email exists already' }), {
      ...form,
      byStatus: { 409: { field: 'email', message: 'sign in instead' } },
    });
    expect(taken.fieldErrors).toEqual({ email: 'sign in instead' });
    const wrong = await describeRefusal(problemResponse(401, {}), { ...form, byStatus: { 401: 'Wrong email or password.' } });
    expect(wrong.message).toBe('Wrong email or password.');
  });

  it('does not trust a body that is not a problem document', async () => {
    const failure = await describeRefusal(new Response('<h1>Bad gateway</h1>', { status: 502 }), form);
    expect(failure.message).toBe('Something went wrong on our side (error 502). Please try again in a moment.');
  });
});

describe('submitToApi', () => {
  it('hands back the response with the expected status, and a failure for anything else', async () => {
    const ok = await submitToApi(async () => new Response('{}', { status: 201 }), 201, form);
    expect(ok.ok).toBe(true);
    const refused = await submitToApi(async () => problemResponse(409, { detail: 'the show has ended' }), 201, form);
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(isActionFailure(refused.failure)).toBe(true);
      expect(refused.failure.status).toBe(409);
    }
  });

  it('keeps what was typed when the API cannot be reached at all', async () => {
    const unreachable = (): Promise<Response> => Promise.reject(new TypeError('fetch failed'));
    const sent = await submitToApi(unreachable, 201, form);
    expect(sent.ok || sent.failure.data).toEqual({ form: 'createProduct', values: form.values, fieldErrors: {}, message: UNREACHABLE_MESSAGE });
    expect(sent.ok || sent.failure.status).toBe(503);
  });

  it('sends a visitor whose session ended back to sign in, when the form says where', async () => {
    const thrown = await submitToApi(async () => problemResponse(401, {}), 201, { ...form, signInAt: '/login?redirectTo=%2Fstudio' }).catch((error: unknown) => error);
    expect(isRedirect(thrown) && thrown.location).toBe('/login?redirectTo=%2Fstudio');
  });
});

describe('feedbackFor and placeFieldErrors', () => {
  it('tells apart the forms a page repeats per product', () => {
    const result = { form: 'updateProduct', subject: 'p1', notice: 'Changes saved.' };
    expect(feedbackFor(result, { form: 'updateProduct', subject: 'p1' }).notice).toBe('Changes saved.');
    expect(feedbackFor(result, { form: 'updateProduct', subject: 'p2' })).toEqual({});
    expect(feedbackFor(undefined, { form: 'updateProduct' })).toEqual({});
  });

  it('prefers the longest matching path', () => {
    expect(placeFieldErrors([{ path: 'flashDeal.price.amount', message: 'x' }], { flashDeal: 'deal', 'flashDeal.price': 'dealPrice' })).toEqual({ fieldErrors: { dealPrice: 'x' } });
  });
});
