import type { FieldPacket } from 'mysql2/promise';

/**
 * How Vitess (PlanetScale's proxy) writes MySQL results as JSON: fields named by Vitess types, rows
 * as byte lengths plus one base64 string of the concatenated values. @planetscale/database casts
 * values from the type names and the charset, so those must match what Vitess would send.
 */

export interface VitessField {
  name: string;
  /** Absent for NULL_TYPE: proto3 JSON omits a zero enum, and the client reads absence as 'NULL'. */
  type?: string;
  table: string;
  orgTable: string;
  database: string;
  orgName: string;
  columnLength: number;
  charset: number;
  decimals: number;
  flags: number;
}

export interface VitessRow {
  /** Byte length of each value as a decimal string; '-1' is NULL. */
  lengths: string[];
  /** base64 of the non-NULL values concatenated; omitted when there are no bytes. */
  values?: string;
}

/** The binary pseudo-charset: the client turns such values into Uint8Array. */
export const BINARY_CHARSET = 63;

// MySQL column definition flags (include/mysql_com.h).
const UNSIGNED_FLAG = 32;
const ENUM_FLAG = 256;
const SET_FLAG = 2048;

// MySQL protocol type codes to Vitess type names (vitess go/sqltypes: mysqlToType).
const VITESS_TYPE_BY_MYSQL_TYPE = new Map<number, string>([
  [0, 'DECIMAL'],
  [1, 'INT8'],
  [2, 'INT16'],
  [3, 'INT32'],
  [4, 'FLOAT32'],
  [5, 'FLOAT64'],
  [6, 'NULL_TYPE'],
  [7, 'TIMESTAMP'],
  [8, 'INT64'],
  [9, 'INT24'],
  [10, 'DATE'],
  [11, 'TIME'],
  [12, 'DATETIME'],
  [13, 'YEAR'],
  [14, 'DATE'],
  [15, 'VARCHAR'],
  [16, 'BIT'],
  [17, 'TIMESTAMP'],
  [18, 'DATETIME'],
  [19, 'TIME'],
  [245, 'JSON'],
  [246, 'DECIMAL'],
  [247, 'ENUM'],
  [248, 'SET'],
  [249, 'TEXT'],
  [250, 'TEXT'],
  [251, 'TEXT'],
  [252, 'TEXT'],
  [253, 'VARCHAR'],
  [254, 'CHAR'],
  [255, 'GEOMETRY'],
]);

const UNSIGNED_VARIANT: Record<string, string> = {
  INT8: 'UINT8',
  INT16: 'UINT16',
  INT24: 'UINT24',
  INT32: 'UINT32',
  INT64: 'UINT64',
};

// Vitess keys binary-ness of string types on the column's flags; MySQL also sets BINARY_FLAG for
// *_bin collations, so the charset is the reliable signal (and the one the client itself reads).
const BINARY_VARIANT: Record<string, string> = { VARCHAR: 'VARBINARY', CHAR: 'BINARY', TEXT: 'BLOB' };

export function vitessTypeName(field: FieldPacket): string {
  const mysqlType = field.columnType ?? field.type;
  if (mysqlType === undefined) throw new Error(`column ${field.name} has no MySQL type`);
  // MariaDB stores JSON as LONGTEXT but marks it in its extended metadata; MySQL's JSON is type 245.
  if (field.extendedFormat === 'json') return 'JSON';
  const base = VITESS_TYPE_BY_MYSQL_TYPE.get(mysqlType);
  if (base === undefined) throw new Error(`column ${field.name} has unknown MySQL type ${mysqlType}`);
  const flags = numericFlags(field);
  if (base === 'CHAR' && flags & ENUM_FLAG) return 'ENUM';
  if (base === 'CHAR' && flags & SET_FLAG) return 'SET';
  if (flags & UNSIGNED_FLAG && UNSIGNED_VARIANT[base]) return UNSIGNED_VARIANT[base];
  if (field.characterSet === BINARY_CHARSET && BINARY_VARIANT[base]) return BINARY_VARIANT[base];
  return base;
}

export function toVitessField(field: FieldPacket): VitessField {
  const type = vitessTypeName(field);
  return {
    name: field.name,
    ...(type === 'NULL_TYPE' ? {} : { type }),
    table: field.table,
    orgTable: field.orgTable,
    database: field.schema ?? field.db ?? '',
    orgName: field.orgName,
    columnLength: field.columnLength ?? field.length ?? 0,
    charset: field.characterSet ?? BINARY_CHARSET,
    decimals: field.decimals,
    flags: numericFlags(field),
  };
}

/** Encodes one row of raw column bytes (the text protocol's values, exactly as MySQL sent them). */
export function toVitessRow(values: ReadonlyArray<Buffer | null>): VitessRow {
  const present = values.filter((value): value is Buffer => value !== null);
  const bytes = Buffer.concat(present);
  return {
    lengths: values.map((value) => (value === null ? '-1' : String(value.length))),
    ...(bytes.length > 0 ? { values: bytes.toString('base64') } : {}),
  };
}

function numericFlags(field: FieldPacket): number {
  // mysql2 types flags as number | string[]; at runtime the column definition carries the number.
  return typeof field.flags === 'number' ? field.flags : 0;
}

/** MySQL error numbers to Vitess's vtrpc codes (after vitess go/mysql/sqlerror), the rest UNKNOWN. */
const VITESS_CODE_BY_ERRNO = new Map<number, string>([
  // Duplicates and existing objects.
  [1022, 'ALREADY_EXISTS'],
  [1050, 'ALREADY_EXISTS'],
  [1062, 'ALREADY_EXISTS'],
  [1586, 'ALREADY_EXISTS'],
  // Missing objects.
  [1032, 'NOT_FOUND'],
  [1054, 'NOT_FOUND'],
  [1051, 'NOT_FOUND'],
  [1146, 'NOT_FOUND'],
  [1305, 'NOT_FOUND'],
  // Malformed statements and values.
  [1048, 'INVALID_ARGUMENT'],
  [1049, 'INVALID_ARGUMENT'],
  [1052, 'INVALID_ARGUMENT'],
  [1064, 'INVALID_ARGUMENT'],
  [1065, 'INVALID_ARGUMENT'],
  [1136, 'INVALID_ARGUMENT'],
  [1149, 'INVALID_ARGUMENT'],
  [1264, 'INVALID_ARGUMENT'],
  [1292, 'INVALID_ARGUMENT'],
  [1366, 'INVALID_ARGUMENT'],
  [1406, 'INVALID_ARGUMENT'],
  [3140, 'INVALID_ARGUMENT'],
  [4025, 'INVALID_ARGUMENT'],
  // State the statement cannot proceed from.
  [1046, 'FAILED_PRECONDITION'],
  [1216, 'FAILED_PRECONDITION'],
  [1217, 'FAILED_PRECONDITION'],
  [1451, 'FAILED_PRECONDITION'],
  [1452, 'FAILED_PRECONDITION'],
  [1792, 'FAILED_PRECONDITION'],
  // Concurrency.
  [1205, 'DEADLINE_EXCEEDED'],
  [1213, 'ABORTED'],
  [1317, 'CANCELED'],
  // Permissions.
  [1044, 'PERMISSION_DENIED'],
  [1045, 'PERMISSION_DENIED'],
  [1142, 'PERMISSION_DENIED'],
  // Resources.
  [1040, 'RESOURCE_EXHAUSTED'],
  [1153, 'RESOURCE_EXHAUSTED'],
  [1203, 'RESOURCE_EXHAUSTED'],
]);

export function vitessErrorCode(errno: number | undefined): string {
  return (errno !== undefined && VITESS_CODE_BY_ERRNO.get(errno)) || 'UNKNOWN';
}
