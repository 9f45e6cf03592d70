import { describe, expect, it } from 'vitest';
import { dateTimeFormat, numberFormat, relativeTimeFormat } from './intl.ts';

describe('intl formatters', () => {
  it('builds one formatter per locale and set of options, and reuses it', () => {
    const usd = numberFormat('en', { style: 'currency', currency: 'USD' });
    expect(numberFormat('en', { style: 'currency', currency: 'USD' })).toBe(usd);
    expect(numberFormat('en', { style: 'currency', currency: 'EUR' })).not.toBe(usd);
    expect(numberFormat('de', { style: 'currency', currency: 'USD' })).not.toBe(usd);
    expect(usd.format(29)).toBe('$29.00');
  });

  it('keeps each kind apart even with the same options', () => {
    const date = dateTimeFormat('en', {});
    const relative = relativeTimeFormat('en', {});
    expect(date).toBeInstanceOf(Intl.DateTimeFormat);
    expect(relative).toBeInstanceOf(Intl.RelativeTimeFormat);
    expect(dateTimeFormat('en', {})).toBe(date);
  });

  it('caches nothing when the options are refused, and refuses again', () => {
    expect(() => dateTimeFormat('en', { timeZone: 'Mars/Olympus_Mons' })).toThrow(RangeError);
    expect(() => dateTimeFormat('en', { timeZone: 'Mars/Olympus_Mons' })).toThrow(RangeError);
  });
});
