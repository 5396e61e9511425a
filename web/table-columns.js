// @ts-check
// Columnar table updates (docs/protocol.md §1.8) as a binary frame carries them (§2.4 `tcols`):
// the producer's message itself, keys and columns raw, so the server prints no row and the page
// reads numbers straight from the bytes. This module turns one back into the ops a text frame's
// `{"ops": [...]}` holds for the same rows, so state.js folds both with one set of rules.

/** The first four bytes of a columnar table update (package protocol's TableColumnsMagic). */
export const TABLE_COLUMNS_MAGIC = 'SVT1';

const TWO32 = 2 ** 32;
const SAFE_HI = 2 ** 21; // |hi| below this: hi * 2^32 + lo is exact (under 2^53)

/**
 * The int64 at off as a number (JSON.parse of its decimal text gives the same double) and, when
 * asText, its exact decimal text.
 * @param {DataView} dv
 * @param {number} off
 */
function int64(dv, off) {
  const hi = dv.getInt32(off + 4, true);
  if (hi >= -SAFE_HI && hi < SAFE_HI) return hi * TWO32 + dv.getUint32(off, true);
  return Number(dv.getBigInt64(off, true));
}

/**
 * The decimal text of the int64 at off, as the server keys such a row (§1.8 key_type "i64").
 * @param {DataView} dv
 * @param {number} off
 */
function int64Text(dv, off) {
  const hi = dv.getInt32(off + 4, true);
  if (hi >= -SAFE_HI && hi < SAFE_HI) return String(hi * TWO32 + dv.getUint32(off, true));
  return dv.getBigInt64(off, true).toString();
}

/**
 * The rows of a columnar table update as upsert ops `{key, row}`, in order: exactly what the
 * server's text frames carry for it (a float64 NaN or infinity is null, an int64 the number its
 * decimal text parses to, a JSON cell parsed). The server checked the message before storing
 * it; anything that does not hold together here throws, and the connection then starts over
 * from a snapshot.
 * @param {Uint8Array} bytes
 * @returns {{key: string, row: Record<string, unknown>}[]}
 */
export function tableColumnsOps(bytes) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // ignoreBOM: a text key may begin with U+FEFF, and the server keeps it (decode() would drop it).
  const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  if (bytes.length < 8 || String.fromCharCode(...bytes.subarray(0, 4)) !== TABLE_COLUMNS_MAGIC) {
    throw new Error('table columns: not an SVT1 message');
  }
  let off = 8;
  /** @param {number} k */
  const take = (k) => {
    if (k > bytes.length - off) throw new Error(`table columns: ${k} bytes needed at ${off} of ${bytes.length}`);
    const at = off;
    off += k;
    return at;
  };
  const h = dv.getUint32(4, true);
  const head = JSON.parse(text.decode(bytes.subarray(take(h), off)));
  const n = head?.n;
  const names = head?.columns;
  const types = head?.types;
  if (!Number.isInteger(n) || n < 0 || !Array.isArray(names) || !Array.isArray(types) || names.length !== types.length) {
    throw new Error('table columns: a head without n, columns and types');
  }
  /**
   * n length-prefixed texts: where each starts and its length.
   * @returns {{starts: Uint32Array, lens: Uint32Array}}
   */
  const texts = () => {
    const at = take(4 * n);
    const starts = new Uint32Array(n);
    const lens = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      lens[i] = dv.getUint32(at + 4 * i, true);
      starts[i] = take(lens[i]);
    }
    return { starts, lens };
  };
  /** @type {string[]} */
  const keys = new Array(n);
  if (head.key_type === 'i64') {
    const at = take(8 * n);
    for (let i = 0; i < n; i++) keys[i] = int64Text(dv, at + 8 * i);
  } else {
    const { starts, lens } = texts();
    for (let i = 0; i < n; i++) keys[i] = text.decode(bytes.subarray(starts[i], starts[i] + lens[i]));
  }
  /** @type {Record<string, unknown>[]} */
  const rows = new Array(n);
  for (let i = 0; i < n; i++) rows[i] = {};
  for (let c = 0; c < names.length; c++) {
    const name = String(names[c]);
    const typ = types[c];
    if (typ === 'f64' || typ === 'i64') {
      const at = take(8 * n);
      for (let i = 0; i < n; i++) {
        const v = typ === 'i64' ? int64(dv, at + 8 * i) : dv.getFloat64(at + 8 * i, true);
        set(rows[i], name, Number.isFinite(v) ? v : null);
      }
    } else if (typ === 'json') {
      const { starts, lens } = texts();
      // Columns repeat values (a category, a status): a cell whose bytes equal the one before it
      // is that value again, unless it is an object or array (each row gets its own).
      let prev = -1;
      /** @type {unknown} */
      let prevValue;
      for (let i = 0; i < n; i++) {
        const s = starts[i];
        const l = lens[i];
        if (prev >= 0 && l === lens[prev] && sameBytes(bytes, starts[prev], s, l)) {
          set(rows[i], name, prevValue);
          continue;
        }
        const v = JSON.parse(text.decode(bytes.subarray(s, s + l)));
        set(rows[i], name, v);
        if (v === null || typeof v !== 'object') {
          prev = i;
          prevValue = v;
        } else prev = -1;
      }
    } else throw new Error(`table columns: column type ${typ}`);
  }
  if (off !== bytes.length) throw new Error(`table columns: ${bytes.length - off} bytes after the last column`);
  return rows.map((row, i) => ({ key: keys[i], row }));
}

/**
 * row[name] = v, as JSON.parse sets it: a column named __proto__ is a property like any other.
 * @param {Record<string, unknown>} row
 * @param {string} name
 * @param {unknown} v
 */
function set(row, name, v) {
  if (name === '__proto__') Object.defineProperty(row, name, { value: v, writable: true, enumerable: true, configurable: true });
  else row[name] = v;
}

/**
 * @param {Uint8Array} b
 * @param {number} i
 * @param {number} j
 * @param {number} l
 */
function sameBytes(b, i, j, l) {
  for (let k = 0; k < l; k++) if (b[i + k] !== b[j + k]) return false;
  return true;
}
