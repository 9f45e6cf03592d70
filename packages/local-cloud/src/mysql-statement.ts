/**
 * What a statement leaves behind on its MySQL connection, which decides whether a PlanetScale
 * session must keep that connection after the statement:
 * - 'session': session state (variables, current schema, table locks, temporary tables, prepared
 *   statements) that later statements of the session expect to find;
 * - 'next-transaction': `SET TRANSACTION ...`, which applies to the session's next transaction,
 *   so the following BEGIN must run on the same connection;
 * - 'none': nothing beyond what the server status reports (an open transaction).
 */
export type SessionEffect = 'session' | 'next-transaction' | 'none';

const NEXT_TRANSACTION = /^set\s+transaction\b/i;
const SESSION_STATE = /^(set|use|lock\s+tables?|prepare|create\s+temporary)\b/i;

export function sessionEffectOf(sql: string): SessionEffect {
  const statement = stripLeadingComments(sql);
  if (NEXT_TRANSACTION.test(statement)) return 'next-transaction';
  if (SESSION_STATE.test(statement)) return 'session';
  return 'none';
}

/** Drops leading whitespace and comments, keeping `/*! ... *\/` (MySQL executes those). */
export function stripLeadingComments(sql: string): string {
  let rest = sql.trimStart();
  for (;;) {
    if (rest.startsWith('/*') && !rest.startsWith('/*!')) {
      const end = rest.indexOf('*/', 2);
      rest = end === -1 ? '' : rest.slice(end + 2).trimStart();
    } else if (rest.startsWith('#') || /^--(\s|$)/.test(rest)) {
      const end = rest.indexOf('\n');
      rest = end === -1 ? '' : rest.slice(end + 1).trimStart();
    } else {
      return rest;
    }
  }
}
