import { describe, expect, it } from 'vitest';
import { assertTransition, canTransition, type OrderStatus, releasesStock } from './orders.ts';

const ALL: OrderStatus[] = ['pending', 'paid', 'cancelled', 'refunded', 'fulfilled'];
const ALLOWED = new Set(['pending→paid', 'pending→cancelled', 'paid→fulfilled', 'paid→refunded', 'fulfilled→refunded']);

describe('the order state machine', () => {
  for (const from of ALL) {
    for (const to of ALL) {
      const allowed = ALLOWED.has(`${from}→${to}`);
      it(`${allowed ? 'allows' : 'refuses'} ${from} → ${to}`, () => {
        expect(canTransition(from, to)).toBe(allowed);
        if (allowed) expect(() => assertTransition(from, to)).not.toThrow();
        else expect(() => assertTransition(from, to)).toThrow(`an order that is ${from} cannot become ${to}`);
      });
    }
  }

  it('gives units back exactly when an order is cancelled or refunded', () => {
    expect(ALL.filter(releasesStock)).toEqual(['cancelled', 'refunded']);
  });
});
