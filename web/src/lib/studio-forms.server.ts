/**
 * The studio's forms as the edge API's requests. Form fields are text; the requests want minor
 * units, whole numbers and UTC instants. What cannot be converted becomes a field error here, and
 * the rest of the request is then checked against its contract schema, so a seller sees every
 * problem of a submission at once instead of one round trip per mistake.
 */
import { CreateProductRequest, PinRequest, ScheduleShowRequest, type FlashDeal } from '@mytaek1/contracts';
import { issuesAsProblems, placeFieldErrors } from './forms.ts';
import { amountHint, parseDecimalAmount } from './money.ts';
import { wallTimeToInstant } from './wall-time.ts';

/** A form read into a request, or the field errors that stop it from being sent. */
export type ReadForm<Request> = { ok: true; request: Request } | { ok: false; fieldErrors: Record<string, string>; message?: string };

export const PRODUCT_FIELDS = ['title', 'description', 'price', 'currency', 'stock'] as const;
/** Where the API's field paths show up in the product forms. */
export const PRODUCT_API_FIELDS: Record<string, string> = { title: 'title', description: 'description', price: 'price', 'price.currency': 'currency', stock: 'stock' };

export const SHOW_FIELDS = ['title', 'description', 'scheduledAt'] as const;
export const SHOW_API_FIELDS: Record<string, string> = { title: 'title', description: 'description', scheduledAt: 'scheduledAt' };

export const PIN_FIELDS = ['productId', 'dealPrice', 'dealStartsAt', 'dealEndsAt', 'dealTotalLimit', 'dealPerBuyerLimit'] as const;
export const PIN_API_FIELDS: Record<string, string> = {
  'flashDeal.price': 'dealPrice',
  'flashDeal.startsAt': 'dealStartsAt',
  'flashDeal.endsAt': 'dealEndsAt',
  'flashDeal.totalLimit': 'dealTotalLimit',
  'flashDeal.perBuyerLimit': 'dealPerBuyerLimit',
};

/** What `finish` needs of a contract schema (zod's safeParse), without this package depending on zod itself. */
interface ContractSchema {
  safeParse(input: unknown): { success: true } | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } };
}

const WHOLE_NUMBER = /^\d+$/;
const NOT_A_DATE_TIME = 'must be a date and time';

/** Converted field values plus the errors of the fields that could not be converted. */
class Conversion {
  readonly fieldErrors: Record<string, string> = {};

  amount(field: string, text: string, currency: string): number {
    const amount = /^[A-Z]{3}$/.test(currency) ? parseDecimalAmount(text, currency) : null;
    if (amount === null) this.fieldErrors[field] ??= /^[A-Z]{3}$/.test(currency) ? amountHint(currency) : 'needs a currency';
    // The placeholder only lets the rest of the request be checked; a request with errors is never sent.
    return amount ?? 0;
  }

  wholeNumber(field: string, text: string): number {
    if (WHOLE_NUMBER.test(text.trim())) return Number(text.trim());
    this.fieldErrors[field] ??= 'must be a whole number';
    return 0;
  }

  instant(field: string, wallTime: string, timeZone: string): string {
    const instant = wallTimeToInstant(wallTime, timeZone);
    if (instant === null) this.fieldErrors[field] ??= NOT_A_DATE_TIME;
    return instant ?? new Date(0).toISOString();
  }

  /** The request when every field converted, else the conversion errors plus what the contract says about the rest. */
  finish<Request>(schema: ContractSchema, request: Request, apiFields: Record<string, string>): ReadForm<Request> {
    if (Object.keys(this.fieldErrors).length === 0) return { ok: true, request };
    const checked = schema.safeParse(request);
    const placed = checked.success ? { fieldErrors: {} } : placeFieldErrors(issuesAsProblems(checked.error.issues), apiFields);
    // A conversion error wins over the contract's complaint about the placeholder in the same field.
    const fieldErrors = { ...placed.fieldErrors, ...this.fieldErrors };
    return placed.unplaced ? { ok: false, fieldErrors, message: placed.unplaced } : { ok: false, fieldErrors };
  }
}

/** The create and edit product forms (both send every field). */
export function readProductForm(values: Record<string, string>): ReadForm<CreateProductRequest> {
  const conversion = new Conversion();
  const currency = (values.currency ?? '').trim().toUpperCase();
  const request: CreateProductRequest = {
    title: values.title ?? '',
    description: values.description ?? '',
    price: { amount: conversion.amount('price', values.price ?? '', currency), currency },
    stock: conversion.wholeNumber('stock', values.stock ?? ''),
  };
  return conversion.finish(CreateProductRequest, request, PRODUCT_API_FIELDS);
}

/** The schedule form; `timeZone` is the browser's, for reading the datetime-local field. */
export function readShowForm(values: Record<string, string>, timeZone: string): ReadForm<ScheduleShowRequest> {
  const conversion = new Conversion();
  const request: ScheduleShowRequest = {
    title: values.title ?? '',
    description: values.description ?? '',
    scheduledAt: conversion.instant('scheduledAt', values.scheduledAt ?? '', timeZone),
  };
  return conversion.finish(ScheduleShowRequest, request, SHOW_API_FIELDS);
}

const DEAL_FIELDS = ['dealPrice', 'dealStartsAt', 'dealEndsAt', 'dealTotalLimit', 'dealPerBuyerLimit'] as const;

/** Whether the pin form asks for a flash deal at all (a plain pin leaves every deal field empty). */
export function wantsFlashDeal(values: Record<string, string>): boolean {
  return DEAL_FIELDS.some((field) => (values[field] ?? '').trim() !== '');
}

/**
 * The pin form. Without a deal price the product is pinned at its own price; with one, a deal
 * that starts now unless told otherwise. `currency` is the product's: a deal is priced like it.
 */
export function readPinForm(values: Record<string, string>, currency: string, timeZone: string, now: number): ReadForm<PinRequest> {
  if (!wantsFlashDeal(values)) return { ok: true, request: {} };
  const conversion = new Conversion();
  if (!(values.dealPrice ?? '').trim()) conversion.fieldErrors.dealPrice = 'enter the deal price, or leave every flash-deal field empty';
  if (!(values.dealEndsAt ?? '').trim()) conversion.fieldErrors.dealEndsAt = 'enter when the deal ends';
  const startsAt = (values.dealStartsAt ?? '').trim();
  const limit = (field: 'dealTotalLimit' | 'dealPerBuyerLimit') => ((values[field] ?? '').trim() ? conversion.wholeNumber(field, values[field]!) : undefined);
  const totalLimit = limit('dealTotalLimit');
  const perBuyerLimit = limit('dealPerBuyerLimit');
  const flashDeal: FlashDeal = {
    price: { amount: conversion.amount('dealPrice', values.dealPrice ?? '', currency), currency },
    startsAt: startsAt ? conversion.instant('dealStartsAt', startsAt, timeZone) : new Date(now).toISOString(),
    endsAt: conversion.instant('dealEndsAt', values.dealEndsAt ?? '', timeZone),
    ...(totalLimit === undefined ? {} : { totalLimit }),
    ...(perBuyerLimit === undefined ? {} : { perBuyerLimit }),
  };
  return conversion.finish(PinRequest, { flashDeal }, PIN_API_FIELDS);
}
