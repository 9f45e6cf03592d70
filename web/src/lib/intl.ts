/**
 * Intl formatters, one per locale and set of options. Building one is costly (the first of a kind
 * loads locale data: tens of milliseconds on a slow phone, on the show page's critical path) and
 * using one is cheap, so the pages build each once and reuse it. A constructor that throws (an
 * unknown currency or time zone) caches nothing and throws again next time.
 */
type Formatter = Intl.NumberFormat | Intl.DateTimeFormat | Intl.RelativeTimeFormat;

const formatters = new Map<string, Formatter>();

function cached<F extends Formatter>(kind: string, locale: string | undefined, options: object, build: () => F): F {
  const key = `${kind}\u0000${locale ?? ''}\u0000${JSON.stringify(options)}`;
  let formatter = formatters.get(key) as F | undefined;
  if (!formatter) {
    formatter = build();
    formatters.set(key, formatter);
  }
  return formatter;
}

export function numberFormat(locale: string | undefined, options: Intl.NumberFormatOptions): Intl.NumberFormat {
  return cached('number', locale, options, () => new Intl.NumberFormat(locale, options));
}

export function dateTimeFormat(locale: string | undefined, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  return cached('date', locale, options, () => new Intl.DateTimeFormat(locale, options));
}

export function relativeTimeFormat(locale: string | undefined, options: Intl.RelativeTimeFormatOptions): Intl.RelativeTimeFormat {
  return cached('relative', locale, options, () => new Intl.RelativeTimeFormat(locale, options));
}
