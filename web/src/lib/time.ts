/**
 * How the pages word a show's times. The server renders times in UTC (it cannot know the visitor's
 * time zone); LocalTime.svelte re-renders them in the browser's zone once the page is running.
 */
import type { Show } from '@mytaek1/contracts';
import { dateTimeFormat, relativeTimeFormat } from './intl.ts';

const NO_BREAK_SPACE = '\u00a0';

/** "Tue, Nov 25, 5:30 PM", in `timeZone`, or in the runtime's own zone when it is undefined. */
export function formatInstant(instant: string, timeZone?: string): string {
  const parts = dateTimeFormat('en', {
    weekday: 'short',
    month: 'short',
    day: 'numeric',
    hour: 'numeric',
    minute: '2-digit',
    ...(timeZone ? { timeZone, timeZoneName: 'short' } : {}),
  }).formatToParts(new Date(instant));
  // A no-break space before "PM" (and before the zone name) keeps "5:30 PM UTC" on one line when a
  // narrow card wraps the text; the browser's own Intl puts an ordinary space there.
  return parts
    .map((part, index) => {
      const next = parts[index + 1]?.type;
      return part.type === 'literal' && (next === 'dayPeriod' || next === 'timeZoneName') ? NO_BREAK_SPACE : part.value;
    })
    .join('');
}

const UNITS: ReadonlyArray<[Intl.RelativeTimeFormatUnit, number]> = [
  ['day', 24 * 60 * 60 * 1000],
  ['hour', 60 * 60 * 1000],
  ['minute', 60 * 1000],
];

/** "in 59 minutes", "3 hours ago", "tomorrow": the largest whole unit, counted from `now`. */
export function formatRelative(instant: string, now: number): string {
  const delta = new Date(instant).getTime() - now;
  const format = relativeTimeFormat('en', { numeric: 'auto' });
  for (const [unit, size] of UNITS) {
    if (Math.abs(delta) >= size) return format.format(Math.trunc(delta / size), unit);
  }
  // Intl would say "now" or "in 0 minutes"; a show that starts or started within the minute reads better as:
  return delta > 0 ? 'in less than a minute' : 'just now';
}

/** The one moment worth showing for a show in its current state, and the word that goes before it. */
export function showMoment(show: Show): { label: 'Starts' | 'Started' | 'Ended'; instant: string } {
  switch (show.status) {
    case 'scheduled':
      return { label: 'Starts', instant: show.scheduledAt };
    case 'live':
      return { label: 'Started', instant: show.startedAt ?? show.scheduledAt };
    case 'ended':
      return { label: 'Ended', instant: show.endedAt ?? show.startedAt ?? show.scheduledAt };
  }
}
