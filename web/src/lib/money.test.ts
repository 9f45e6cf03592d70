import { describe, expect, it } from 'vitest';
import { formatMoney, minorUnitDigits, parseDecimalAmount, toDecimalAmount } from './money.ts';

describe('parseDecimalAmount', () => {
  it('turns what a seller types into minor units of the currency', () => {
    expect(parseDecimalAmount('29.00', 'USD')).toBe(2900);
    expect(parseDecimalAmount('29', 'USD')).toBe(2900);
    expect(parseDecimalAmount(' 29.5 ', 'USD')).toBe(2950);
    expect(parseDecimalAmount('0.07', 'USD')).toBe(7);
    expect(parseDecimalAmount('1,299.99', 'USD')).toBe(129999);
    expect(parseDecimalAmount('1500', 'JPY')).toBe(1500);
    expect(parseDecimalAmount('12.0', 'KRW')).toBe(12);
    expect(parseDecimalAmount('12.0', 'KRW')).toBe(12);
  });

  it('refuses what it would have to guess at, rather than store a wrong price', () => {
    for (const text of ['', 'abc', '-5', '29,00', '1,29.00', '29.001', '$29', '2e3', '.5']) {
      expect(parseDecimalAmount(text, 'USD'), text).toBeNull();
    }
    expect(parseDecimalAmount('1500.5', 'JPY')).toBeNull();
    expect(parseDecimalAmount('99999999999999999', 'USD')).toBeNull();
  });
});

describe('toDecimalAmount and formatMoney', () => {
  it('write minor units back the way the forms read them', () => {
    expect(minorUnitDigits('USD')).toBe(2);
    expect(minorUnitDigits('KRW')).toBe(0);
    expect(toDecimalAmount({ amount: 2900, currency: 'USD' })).toBe('29.00');
    expect(toDecimalAmount({ amount: 7, currency: 'USD' })).toBe('0.07');
    expect(toDecimalAmount({ amount: 1500, currency: 'JPY' })).toBe('1500');
    for (const amount of [0, 5, 99, 2900, 123456]) {
      expect(parseDecimalAmount(toDecimalAmount({ amount, currency: 'EUR' }), 'EUR')).toBe(amount);
    }
  });

  it('formats for reading with the currency’s symbol', () => {
    expect(formatMoney({ amount: 2900, currency: 'USD' })).toBe('$29.00');
    expect(formatMoney({ amount: 12000, currency: 'KRW' })).toBe('₩12,000');
  });
});
