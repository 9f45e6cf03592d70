/**
 * Money as sellers type it and read it. The API counts integer minor units (cents) with an ISO 4217
 * code; people type "29.00". How many decimals a currency has comes from Intl, so "1500" yen stays
 * 1500 and "29.00" dollars becomes 2900.
 */
import type { Money } from '@mytaek1/contracts';
import { numberFormat } from './intl.ts';

/** The currencies the studio offers in its forms; the API itself accepts any ISO 4217 code. */
export const STUDIO_CURRENCIES = ['USD', 'EUR', 'GBP', 'KRW', 'JPY', 'CAD', 'AUD'] as const;

/** Digits after the decimal point in `currency`'s minor unit: 2 for USD, 0 for KRW and JPY. */
export function minorUnitDigits(currency: string): number {
  return numberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
}

/** What a price field says when it cannot be read, with an example in the field's currency. */
export function amountHint(currency: string): string {
  const digits = minorUnitDigits(currency);
  return digits === 0 ? 'must be a whole amount such as 1500' : `must be an amount such as 29.${'0'.repeat(digits)}`;
}

/**
 * "29.00", "29", "1,299.5" → minor units of `currency`; null when the text is not a plain
 * non-negative amount with at most the currency's number of decimals. A comma is read only as a
 * thousands separator: "29,00" is refused rather than guessed to be 29 or 2900.
 */
export function parseDecimalAmount(text: string, currency: string): number | null {
  const digits = minorUnitDigits(currency);
  const match = /^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d*))?$/.exec(text.trim());
  if (!match) return null;
  const whole = match[1]!.replaceAll(',', '');
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  if (fraction.length > digits) return null;
  const minor = Number(whole) * 10 ** digits + Number(fraction.padEnd(digits, '0') || '0');
  return Number.isSafeInteger(minor) ? minor : null;
}

/** 2900 USD → "29.00": what an edit form puts back into a price field. */
export function toDecimalAmount({ amount, currency }: Money): string {
  const digits = minorUnitDigits(currency);
  if (digits === 0) return String(amount);
  const text = String(amount).padStart(digits + 1, '0');
  return `${text.slice(0, -digits)}.${text.slice(-digits)}`;
}

/** 2900 USD → "$29.00", for reading. */
export function formatMoney({ amount, currency }: Money): string {
  return numberFormat('en', { style: 'currency', currency }).format(amount / 10 ** minorUnitDigits(currency));
}
