import { describe, expect, it } from 'vitest';
import { readPinForm, readProductForm, readShowForm, wantsFlashDeal } from './studio-forms.server.ts';

describe('readProductForm', () => {
  it('turns the typed fields into the API’s request, the price into minor units', () => {
    expect(readProductForm({ title: 'Rain jacket', description: '', price: '29.00', currency: 'USD', stock: '12' })).toEqual({
      ok: true,
      request: { title: 'Rain jacket', description: '', price: { amount: 2900, currency: 'USD' }, stock: 12 },
    });
  });

  it('reports every problem at once: what could not be read, and what the contract says about the rest', () => {
    const read = readProductForm({ title: '', description: '', price: '29,00', currency: 'USD', stock: '-1' });
    expect(read).toEqual({
      ok: false,
      fieldErrors: { title: 'must not be empty', price: 'must be an amount such as 29.00', stock: 'must be a whole number' },
    });
  });

  it('leaves checks it can read past to the API (a blank-looking title is the API’s to refuse)', () => {
    expect(readProductForm({ title: '   ', description: '', price: '1', currency: 'JPY', stock: '0' }).ok).toBe(true);
  });
});

describe('readShowForm', () => {
  it('reads the start in the browser’s zone', () => {
    expect(readShowForm({ title: 'Rainy day picks', description: '', scheduledAt: '2030-01-15T18:30' }, 'Asia/Seoul')).toEqual({
      ok: true,
      request: { title: 'Rainy day picks', description: '', scheduledAt: '2030-01-15T09:30:00.000Z' },
    });
    expect(readShowForm({ title: 'x', description: '', scheduledAt: '' }, 'UTC')).toEqual({ ok: false, fieldErrors: { scheduledAt: 'must be a date and time' } });
  });
});

describe('readPinForm', () => {
  const now = Date.parse('2030-01-15T09:00:00.000Z');

  it('pins at the product’s own price when every deal field is empty', () => {
    expect(wantsFlashDeal({ productId: 'p', dealPrice: ' ' })).toBe(false);
    expect(readPinForm({ productId: 'p' }, 'USD', 'UTC', now)).toEqual({ ok: true, request: {} });
  });

  it('makes a deal that starts now unless told otherwise, with only the limits given', () => {
    expect(readPinForm({ dealPrice: '19.00', dealEndsAt: '2030-01-15T20:00', dealPerBuyerLimit: '2' }, 'USD', 'Asia/Seoul', now)).toEqual({
      ok: true,
      request: { flashDeal: { price: { amount: 1900, currency: 'USD' }, startsAt: '2030-01-15T09:00:00.000Z', endsAt: '2030-01-15T11:00:00.000Z', perBuyerLimit: 2 } },
    });
  });

  it('asks for the price and the end a deal needs, and checks the rest against the contract', () => {
    expect(readPinForm({ dealTotalLimit: '10' }, 'USD', 'UTC', now)).toEqual({
      ok: false,
      fieldErrors: { dealPrice: 'enter the deal price, or leave every flash-deal field empty', dealEndsAt: 'enter when the deal ends' },
    });
    // Readable fields, but a per-buyer limit above the total: the contract's refinement names the field.
    const read = readPinForm({ dealPrice: 'x', dealEndsAt: '2030-01-15T20:00', dealTotalLimit: '2', dealPerBuyerLimit: '5' }, 'USD', 'UTC', now);
    expect(read).toEqual({ ok: false, fieldErrors: { dealPrice: 'must be an amount such as 29.00', dealPerBuyerLimit: 'must not exceed the total limit' } });
  });
});
