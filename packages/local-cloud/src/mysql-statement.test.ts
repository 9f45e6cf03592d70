import { describe, expect, it } from 'vitest';
import { sessionEffectOf, stripLeadingComments } from './mysql-statement.ts';

describe('sessionEffectOf', () => {
  it.each([
    ['SET TRANSACTION ISOLATION LEVEL SERIALIZABLE', 'next-transaction'],
    ['  set transaction read only', 'next-transaction'],
    ['/* kysely */ SET TRANSACTION READ WRITE', 'next-transaction'],
    ['SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED', 'session'],
    ['SET @marker = 1', 'session'],
    ["SET time_zone = '+02:00'", 'session'],
    ['use other_db', 'session'],
    ['LOCK TABLES t WRITE', 'session'],
    ['CREATE TEMPORARY TABLE t (id INT)', 'session'],
    ['PREPARE s FROM "SELECT 1"', 'session'],
    ['-- a note\nSET @x = 2', 'session'],
    ['# a note\nSELECT 1', 'none'],
    ['SELECT @marker', 'none'],
    ['BEGIN', 'none'],
    ['INSERT INTO settings (name) VALUES ("SET x")', 'none'],
    ['CREATE TABLE t (id INT)', 'none'],
    ['/*!40101 SET NAMES utf8mb4 */', 'none'],
  ] as const)('%j → %s', (sql, effect) => {
    expect(sessionEffectOf(sql)).toBe(effect);
  });
});

describe('stripLeadingComments', () => {
  it('drops block, dash and hash comments but keeps executable ones', () => {
    expect(stripLeadingComments(' /* a */ -- b\n # c\n SELECT 1')).toBe('SELECT 1');
    expect(stripLeadingComments('--not-a-comment')).toBe('--not-a-comment');
    expect(stripLeadingComments('/* unterminated')).toBe('');
    expect(stripLeadingComments('/*!50000 SELECT 1 */')).toBe('/*!50000 SELECT 1 */');
  });
});
