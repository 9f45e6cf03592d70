import { openDatabase, type SqlDatabase } from './database.ts';
import { PlanetScaleDialect } from './planetscale-dialect.ts';

/** PlanetScale (MySQL) over its HTTP API: the same on Workers and on Node. */
export function openPlanetScale(url: string): SqlDatabase {
  return openDatabase(new PlanetScaleDialect({ url }), 'mysql');
}
