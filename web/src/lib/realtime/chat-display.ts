/**
 * What the chat panel says, as plain functions: message times, how long a mute lasts, the words
 * for each error the room can send, and the moderation log's lines.
 */
import { type ModerationEntry, REALTIME_LIMITS } from '@mytaek1/contracts';
import type { RoomProblem } from './RoomConnection.ts';
import { dateTimeFormat, numberFormat } from '../intl.ts';

/** A chat message's time as the viewer's clock shows it, e.g. "7:42 PM". */
export function formatChatTime(at: string, timeZone?: string): string {
  return dateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit', ...(timeZone ? { timeZone } : {}) }).format(new Date(at));
}

/** A span of time for people: "45 seconds", "10 minutes", "1 hour 30 minutes", "2 days". Rounded up, never "0". */
export function formatDuration(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (seconds < 60) return plural(seconds, 'second');
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 60) return plural(minutes, 'minute');
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (hours < 24) return rest ? `${plural(hours, 'hour')} ${plural(rest, 'minute')}` : plural(hours, 'hour');
  const days = Math.floor(hours / 24);
  const restHours = hours % 24;
  return restHours ? `${plural(days, 'day')} ${plural(restHours, 'hour')}` : plural(days, 'day');
}

/** What the composer says when the room (or the client's own check) refused a message. */
export function problemMessage(problem: RoomProblem): string {
  const wait = problem.retryAfterMs === undefined ? null : formatDuration(problem.retryAfterMs);
  switch (problem.code) {
    case 'rate_limited':
      return `You are sending messages too fast. Try again in ${wait ?? 'a few seconds'}.`;
    case 'muted':
      return `A moderator muted you. You can chat again in ${wait ?? 'a while'}.`;
    case 'banned':
      return 'A moderator removed you from this chat.';
    case 'login_required':
      return 'Log in to chat and send hearts.';
    case 'chat_too_long':
      return `Messages are at most ${REALTIME_LIMITS.chatMaxLength} characters.`;
    case 'chat_empty':
      return 'Write something first.';
    case 'show_ended':
      return 'The show has ended, so its chat is closed.';
    case 'not_connected':
      return 'Not connected to the chat right now. Reconnecting…';
    case 'message_not_found':
      return 'That message was already deleted.';
    case 'not_banned':
      return 'That viewer is not banned (any more).';
    case 'forbidden':
      return `Not allowed: ${problem.message}.`;
    default:
      return `The chat could not take that (${problem.message}).`;
  }
}

/** The mute lengths a moderator picks from. */
export const MUTE_CHOICES: readonly { seconds: number; label: string }[] = [
  { seconds: 60, label: '1 minute' },
  { seconds: 10 * 60, label: '10 minutes' },
  { seconds: 60 * 60, label: '1 hour' },
  { seconds: 24 * 60 * 60, label: '24 hours' },
];

/** One line of the moderation log: "Studio Sol muted Ana for 10 minutes". `nameOf` knows the names seen in chat. */
export function describeModeration(entry: ModerationEntry, nameOf: (userId: string) => string | undefined, authorOf: (messageId: string) => string | undefined = () => undefined): string {
  const who = (userId: string | undefined) => (userId ? (nameOf(userId) ?? 'a viewer') : 'a viewer');
  switch (entry.action) {
    case 'delete': {
      const author = entry.messageId ? authorOf(entry.messageId) : undefined;
      return `${entry.byName} deleted a message${author ? ` by ${author}` : ''}`;
    }
    case 'mute':
      return `${entry.byName} muted ${who(entry.userId)}${entry.seconds ? ` for ${formatDuration(entry.seconds * 1000)}` : ''}`;
    case 'ban':
      return `${entry.byName} banned ${who(entry.userId)}`;
    case 'unban':
      return `${entry.byName} let ${who(entry.userId)} back in`;
  }
}

/** A count as a chip shows it: 999, 1.2k, 12k, 1.3M. */
export function compactCount(count: number): string {
  // Below a thousand the compact form is the number itself: no formatter (and no locale data) needed.
  if (Number.isInteger(count) && Math.abs(count) < 1000) return String(count);
  return numberFormat('en', { notation: 'compact', maximumFractionDigits: 1 }).format(count);
}
