import { describe, expect, it } from 'vitest';
import { readProblem, reasonOf, refusalMessage } from './problems.ts';

const problemResponse = (status: number, type: string, detail?: string) =>
  new Response(JSON.stringify({ type, title: 'Conflict', status, ...(detail ? { detail } : {}) }), { status, headers: { 'content-type': 'application/problem+json' } });

describe('problems', () => {
  it('reads the reason slug at the end of the problem type', async () => {
    expect(reasonOf('https://mytaek1.dev/problems/sold-out')).toBe('sold-out');
    expect(reasonOf('about:blank')).toBe('blank');
    expect(await readProblem(problemResponse(409, 'https://mytaek1.dev/problems/deal-sold-out', 'the flash deal is sold out'))).toEqual({
      status: 409,
      reason: 'deal-sold-out',
      detail: 'the flash deal is sold out',
    });
  });

  it('still gives the status of an answer that is not a problem document', async () => {
    expect(await readProblem(new Response('<h1>Bad gateway</h1>', { status: 502 }))).toEqual({ status: 502, reason: '', detail: undefined });
  });

  it('words every refusal for a buyer, known or not', () => {
    expect(refusalMessage({ status: 409, reason: 'sold-out', detail: undefined })).toBe('Sold out: every unit has been bought.');
    expect(refusalMessage({ status: 409, reason: 'buyer-limit', detail: undefined })).toMatch(/per buyer/);
    expect(refusalMessage({ status: 403, reason: 'forbidden', detail: undefined })).toBe('Sellers cannot buy their own products.');
    expect(refusalMessage({ status: 409, reason: 'something-new', detail: 'whatever' })).toBe('This purchase could not be completed. Please try again.');
  });
});
