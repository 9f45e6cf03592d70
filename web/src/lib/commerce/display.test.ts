import { describe, expect, it } from 'vitest';
import { dealPhase, formatCountdown, stockLabel } from './display.ts';

describe('stockLabel', () => {
  it('says sold out at zero, how many are left when few are, and nothing more precise otherwise', () => {
    expect(stockLabel(0)).toEqual({ text: 'Sold out', tone: 'out' });
    expect(stockLabel(1)).toEqual({ text: '1 left', tone: 'low' });
    expect(stockLabel(5)).toEqual({ text: '5 left', tone: 'low' });
    expect(stockLabel(6)).toEqual({ text: 'In stock', tone: 'plenty' });
  });
});

describe('dealPhase', () => {
  const deal = { price: { amount: 100, currency: 'USD' }, startsAt: '2026-11-25T10:00:00.000Z', endsAt: '2026-11-25T10:15:00.000Z' };
  it('is upcoming before the start, running from the start, over from the end', () => {
    expect(dealPhase(null, 0)).toBeNull();
    expect(dealPhase(deal, Date.parse(deal.startsAt) - 1)).toBe('upcoming');
    expect(dealPhase(deal, Date.parse(deal.startsAt))).toBe('running');
    expect(dealPhase(deal, Date.parse(deal.endsAt) - 1)).toBe('running');
    expect(dealPhase(deal, Date.parse(deal.endsAt))).toBe('over');
  });
});

describe('formatCountdown', () => {
  it('counts minutes and seconds, hours when there are some, rounding up and never below zero', () => {
    expect(formatCountdown(245_000)).toBe('4:05');
    expect(formatCountdown(244_001)).toBe('4:05');
    expect(formatCountdown(3_723_000)).toBe('1:02:03');
    expect(formatCountdown(999)).toBe('0:01');
    expect(formatCountdown(0)).toBe('0:00');
    expect(formatCountdown(-5_000)).toBe('0:00');
  });
});
