// @ts-check
// Binary frames (protocol.md §2.4): a socket opened with `binary=1` gets every frame that carries
// columnar chart updates as one binary message, the events' JSON followed by their x and y
// columns as raw little-endian float64, so the page reads the numbers in place instead of
// decoding base64, and a columnar table update (§1.8) as the producer's message (`tcols`) instead
// of its rows' ops. This module turns such a frame back into the events of a text frame, each
// columnar event's `cols` holding its columns as byte views ready for state.js (`tcols.msg` the
// table update's bytes, which table-columns.js reads).

/** The first four bytes of a binary frame (package protocol's FrameMagic). */
export const FRAME_MAGIC = 'SVB1';

/**
 * Reads a binary frame: "SVB1", the JSON's length (uint32 LE), the JSON array of events, zeros up
 * to a multiple of 8 bytes, then the columns. A columnar event's `cols` is `{n, at}`: its x column
 * starts `at` bytes into the columns, its y column 8n bytes after that. The events come back with
 * `cols.x` and `cols.y` as Uint8Array views of the frame (no copy); a table event's `tcols` is
 * `{n, at, len}`, its message `len` bytes at `at`, returned as the view `tcols.msg`. Anything malformed throws,
 * and the connection then starts over from a snapshot.
 * @param {ArrayBuffer} buf
 * @returns {unknown} the events, as JSON.parse of a text frame would give them
 */
export function decodeBinaryFrame(buf) {
  const bytes = new Uint8Array(buf);
  if (bytes.length < 8 || String.fromCharCode(...bytes.subarray(0, 4)) !== FRAME_MAGIC) {
    throw new Error('not a binary frame');
  }
  const j = new DataView(buf).getUint32(4, true);
  if (j > bytes.length - 8) throw new Error(`binary frame: ${j} bytes of JSON in ${bytes.length}`);
  const events = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + j)));
  const base = Math.ceil((8 + j) / 8) * 8;
  if (!Array.isArray(events)) return events;
  for (const ev of events) {
    const tcols = ev?.data?.tcols;
    if (tcols && typeof tcols === 'object') {
      // A columnar table update (§1.8) as the producer sent it, padded to a multiple of 8 bytes.
      const { n, at, len } = tcols;
      if (!Number.isInteger(n) || !Number.isInteger(at) || !Number.isInteger(len) || n < 0 || at < 0 || len < 0 || base + at + len > bytes.length) {
        throw new Error(`binary frame: table columns of ${len} bytes at ${at} outside the frame`);
      }
      tcols.msg = bytes.subarray(base + at, base + at + len);
      continue;
    }
    const cols = ev?.data?.cols;
    if (!cols || typeof cols !== 'object' || !('at' in cols)) continue;
    const { n, at } = cols;
    if (!Number.isInteger(n) || !Number.isInteger(at) || n < 0 || at < 0 || base + at + 16 * n > bytes.length) {
      throw new Error(`binary frame: columns of n=${n} at ${at} outside the frame`);
    }
    cols.x = bytes.subarray(base + at, base + at + 8 * n);
    cols.y = bytes.subarray(base + at + 8 * n, base + at + 16 * n);
  }
  return events;
}
