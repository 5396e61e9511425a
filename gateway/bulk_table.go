package gateway

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"unicode/utf8"

	"github.com/streamviz/streamviz/protocol"
)

// Columnar table updates (docs/protocol.md §1.8): table.send_many in the
// Python SDK sends many rows as columns, numbers as little-endian int64 or
// float64 and anything else as one JSON text per cell, so the producer does
// not build and print a dict per row. The gateway turns them into the ops
// of a JSON {"ops": [...]} update, which then folds, is limited, refused,
// stored and sent to browsers exactly as that update would be.

// Column types of a columnar table update.
const (
	colF64  = "f64"  // n float64 LE; NaN or an infinity is null
	colI64  = "i64"  // n int64 LE
	colJSON = "json" // n uint32 LE lengths, then n JSON values
)

// maxTableColumns bounds the columns of one columnar table update.
const maxTableColumns = 1024

// maxColumnsExpansion bounds the rows' JSON a columnar table update may
// make, as a multiple of its own size (decodeTableColumns). Names of up to
// about 40 bytes over number columns make about 8 times; the bound leaves
// room for names of several hundred bytes.
const maxColumnsExpansion = 64

// maxNumberText is the longest a float64 or int64 cell prints as JSON.
const maxNumberText = 24

// tableColumnsHead is the JSON head of a columnar table update.
type tableColumnsHead struct {
	N       *int64   `json:"n"`
	Columns []string `json:"columns"`
	Types   []string `json:"types"`
	KeyType *string  `json:"key_type"` // "text" (the default) or "i64"
	AsOf    *Time    `json:"as_of"`
}

// Key types of a columnar table update: texts, or whole numbers keyed by
// their decimal text (what .send() makes of an int key).
const (
	keyText = "text"
	keyI64  = "i64"
)

// isTableColumns reports whether a data payload is a columnar table update.
func isTableColumns(b []byte) bool {
	return bytes.HasPrefix(b, []byte(protocol.TableColumnsMagic))
}

// colReader reads a columnar message's sections in order, each checked to
// fit what is left.
type colReader struct {
	b   []byte
	off int
}

func (r *colReader) take(what string, n uint64) ([]byte, error) {
	if n > uint64(len(r.b)-r.off) {
		return nil, fmt.Errorf("%w: table columns: %s needs %d bytes, %d left", ErrBadShape, what, n, len(r.b)-r.off)
	}
	s := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return s, nil
}

// spans reads a section of n length-prefixed texts, n uint32 LE lengths
// then the texts one after the other, as cellTexts spans of r.b.
func (r *colReader) spans(what string, n int) ([]uint64, error) {
	lens, err := r.take(what+" lengths", 4*uint64(n))
	if err != nil {
		return nil, err
	}
	if len(r.b) > math.MaxInt32 {
		// Spans hold 31-bit offsets; a message is at most a NATS payload,
		// far smaller.
		return nil, fmt.Errorf("%w: table columns: a %d-byte message is too large for text columns", ErrBadShape, len(r.b))
	}
	out := make([]uint64, n)
	for i := range out {
		k := uint64(binary.LittleEndian.Uint32(lens[4*i:]))
		if k > uint64(len(r.b)-r.off) {
			return nil, fmt.Errorf("%w: table columns: %s[%d] needs %d bytes, %d left", ErrBadShape, what, i, k, len(r.b)-r.off)
		}
		out[i] = uint64(r.off) | k<<32
		r.off += int(k)
	}
	return out, nil
}

// decodeTableColumns validates a columnar table update and returns it as
// the table update its rows make: "SVT1", uint32 LE length of the JSON head
// ({"n", "columns", "types", "as_of"}), the head, the n keys (n uint32 LE
// lengths, then the keys' bytes), then each column in the head's order. It
// refuses, naming the problem, anything a JSON {"ops": [...]} of the same
// rows would have refused, and whatever does not fill the message exactly.
func decodeTableColumns(b []byte) (*Update, error) {
	// The rows stay in the message's columns (colBlock), so the gateway
	// keeps its own copy, padded with zeros to a multiple of 8 bytes for a
	// binary frame (eventCols).
	b = clonePadded(b)
	if len(b) < columnsHeadLen {
		return nil, fmt.Errorf("%w: table columns: %d bytes, shorter than the %d-byte start (%q and the head's length)", ErrBadShape, len(b), columnsHeadLen, protocol.TableColumnsMagic)
	}
	r := &colReader{b: b, off: columnsHeadLen}
	head, err := r.take("the head", uint64(binary.LittleEndian.Uint32(b[4:8])))
	if err != nil {
		return nil, err
	}
	var hd tableColumnsHead
	if err := decodeObject(head, &hd); err != nil {
		return nil, fmt.Errorf("table columns head: %w", err)
	}
	if hd.N == nil || *hd.N < 0 || *hd.N > int64(len(b)) {
		return nil, fmt.Errorf("%w: table columns head needs \"n\", the number of rows (0 or more, at most one per byte of the message)", ErrBadShape)
	}
	n := int(*hd.N)
	if len(hd.Columns) == 0 || len(hd.Columns) > maxTableColumns || len(hd.Types) != len(hd.Columns) {
		return nil, fmt.Errorf("%w: table columns head needs \"columns\" (1 to %d names) and as many \"types\", got %d and %d", ErrBadShape, maxTableColumns, len(hd.Columns), len(hd.Types))
	}
	// Each row is an object of the columns in order: their names, quoted,
	// are written once.
	names := make([][]byte, len(hd.Columns))
	seen := make(map[string]bool, len(hd.Columns))
	for i, name := range hd.Columns {
		if seen[name] {
			return nil, fmt.Errorf("%w: table columns: column %q given twice", ErrBadShape, truncate(name, 40))
		}
		seen[name] = true
		sep := ","
		if i == 0 {
			sep = "{"
		}
		names[i] = append(appendString([]byte(sep), name), ':')
		switch hd.Types[i] {
		case colF64, colI64, colJSON:
		default:
			return nil, fmt.Errorf("%w: table columns: column %q has type %q: want f64, i64 or json", ErrBadShape, truncate(name, 40), truncate(hd.Types[i], 20))
		}
	}
	keys, err := readKeys(r, hd.KeyType, n)
	if err != nil {
		return nil, err
	}
	cols := make([]tableColumn, len(hd.Columns))
	for c, typ := range hd.Types {
		what := "column " + strconv.Quote(truncate(hd.Columns[c], 40))
		cols[c].typ = typ
		if typ == colJSON {
			cells := &cols[c].cells
			cells.msg = b
			if cells.spans, err = r.spans(what, n); err != nil {
				return nil, err
			}
			var prev []byte
			for i, s := range cells.spans {
				cell := b[uint32(s) : uint32(s)+uint32(s>>32)]
				// Columns repeat values (a category, a status): a cell
				// equal to the one before it is that one again.
				if i > 0 && bytes.Equal(cell, prev) {
					cells.spans[i] = cells.spans[i-1]
					continue
				}
				prev = cell
				if !plainCell(cell) {
					if err := checkCell(cell); err != nil {
						return nil, fmt.Errorf("table columns: %s[%d]: %w", what, i, err)
					}
					if out := compactCell(cell); len(out) != len(cell) {
						cells.spans[i] = uint64(len(cells.extra)) | uint64(len(out))<<32 | inExtra
						cells.extra = append(cells.extra, out...)
					}
				}
			}
		} else if cols[c].nums, err = r.take(what, 8*uint64(n)); err != nil {
			return nil, err
		}
	}
	if r.off != len(b) {
		return nil, fmt.Errorf("%w: table columns: %d bytes after the last column", ErrBadShape, len(b)-r.off)
	}
	// Every row repeats the column names, which the message holds once: a
	// long name over many tiny rows would make a 1 MiB message ask for
	// gigabytes of rows. The rows' JSON may take at most
	// maxColumnsExpansion times the message (numbers counted at their
	// longest printed length), the bound of what a batch of them can hold.
	perRow := uint64(1)
	for c := range cols {
		perRow += uint64(len(names[c]))
		if cols[c].typ != colJSON {
			perRow += maxNumberText
		}
	}
	rowsBytes := perRow * uint64(n)
	for c := range cols {
		for _, s := range cols[c].cells.spans {
			rowsBytes += uint64(spanLen(s))
		}
	}
	if limit := maxColumnsExpansion * uint64(len(b)); rowsBytes > limit {
		return nil, fmt.Errorf("%w: table columns: the %d rows take up to %d bytes as JSON, more than %d times the message's %d bytes (every row repeats the column names): send fewer columns or shorter names per message", ErrBadShape, n, rowsBytes, maxColumnsExpansion, len(b))
	}
	blk := &colBlock{names: names, cols: cols, keys: keys, n: n, sizes: make([]int32, n)}
	blk.measureRows()
	u := &Update{Table: &TableUpdate{blk: blk, cols: b}}
	if hd.AsOf != nil {
		t := float64(*hd.AsOf)
		u.AsOf = &t
	}
	return u, nil
}

// clonePadded copies b into an array of at least the next multiple of 8
// bytes, zeros after b. append clears only what lies past b (make would
// clear the whole array first: a 900 KiB message twice).
func clonePadded(b []byte) []byte {
	c := append([]byte(nil), b...)
	if cap(c) < (len(b)+7)&^7 {
		c = append(make([]byte, 0, (len(b)+7)&^7), b...)
	}
	return c
}

// colBlock is a columnar table update's rows kept as its columns: a keyed
// table's state refers to row i of a block instead of holding the row's
// JSON (tableRow), which is printed only when a snapshot, the HTTP API or a
// text socket needs it. The block's slices point into its message, which
// the gateway keeps (a copy, shared with the update's event).
type colBlock struct {
	names [][]byte // `{"name":` then `,"name":` for each column
	cols  []tableColumn
	keys  tableKeys
	n     int
	sizes []int32 // each row's JSON length, as the byte limits count it
	live  int     // rows of a table that refer to it (applyTable)
}

// appendRow writes row i's JSON, as the JSON op of the same row would hold it.
func (blk *colBlock) appendRow(b []byte, i int) []byte {
	for c := range blk.cols {
		b = append(b, blk.names[c]...)
		b = blk.cols[c].append(b, i)
	}
	return append(b, '}')
}

// measureRows sets each row's JSON length without printing it, a column
// at a time: each pass reads one column's 8-byte numbers in order and
// keeps one branch, where row by row would switch on every cell.
func (blk *colBlock) measureRows() {
	sizes := blk.sizes[:blk.n]
	fixed := 1 // the closing brace
	for c := range blk.names {
		fixed += len(blk.names[c])
	}
	for i := range sizes {
		sizes[i] = int32(fixed)
	}
	for c := range blk.cols {
		col := &blk.cols[c]
		switch col.typ {
		case colI64:
			nums := col.nums[:8*len(sizes)]
			for i := range sizes {
				sizes[i] += int32(intLen(int64(binary.LittleEndian.Uint64(nums[8*i:]))))
			}
		case colF64:
			nums := col.nums[:8*len(sizes)]
			for i := range sizes {
				sizes[i] += int32(floatLen(math.Float64frombits(binary.LittleEndian.Uint64(nums[8*i:]))))
			}
		default:
			spans := col.cells.spans[:len(sizes)]
			for i := range sizes {
				sizes[i] += int32(spanLen(spans[i]))
			}
		}
	}
}

// pow10s[i] is 10 to the i, up to the largest a uint64 holds.
var pow10s = [20]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// intLen is the length of v's decimal text. A number of k bits has
// floor(k*log10(2))+1 digits or one fewer (k*1233>>12 is that floor for
// every k up to 64), so one comparison with a power of ten settles which,
// where dividing by ten takes a division per digit.
func intLen(v int64) int {
	sign := 0
	u := uint64(v)
	if v < 0 {
		sign, u = 1, -u // -MinInt64 wraps to 2^63, its magnitude
	}
	u |= 1 // 0 has one digit; setting the last bit never crosses a power of ten
	d := (bits.Len64(u)*1233)>>12 + 1
	if u < pow10s[d-1] {
		d--
	}
	return sign + d
}

// exactPow10s[d] is 10 to the d as a float64 (exact up to 1e22).
var exactPow10s = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16}

// maxShortDecimal bounds |f|*10^d in floatLen's short-decimal search. Below
// it, f*10^d is off from the true product by at most 1/8, and a decimal
// n/10^d that reads back as f is at most 1/8 from that product too, so
// rounding the computed product always finds such an n if there is one.
const maxShortDecimal = 1 << 50

// shortDecimals is the most decimals floatLen looks for without printing.
// One test at this many rules out every shorter decimal too (n/10^d is
// n*10^(8-d)/10^8), so a long fraction costs that test before it is
// printed, not a search through every count of decimals.
const shortDecimals = 8

// nearDecimal returns n = round(abs*10^d) and whether abs*10^d is close
// enough to n for n/10^d to possibly read back as abs: such a decimal lies
// within half an ulp of abs, so its n is within abs*10^d*2^-52 of the
// computed product (that half ulp scaled, plus the product's rounding);
// twice that leaves room. ok is false too when n would reach
// maxShortDecimal.
func nearDecimal(abs float64, d int) (n float64, ok bool) {
	q := abs * exactPow10s[d]
	n = math.Floor(q + 0.5) // q+0.5 is exact below 2^52; a larger q fails below
	return n, n < maxShortDecimal && math.Abs(q-n) <= q*0x1p-51
}

// floatLen is len(appendFloatFast(nil, f)): the length of f's JSON text,
// found without printing for whole numbers and short decimals (prices,
// readings, halves), which are most of what tables hold. For a number
// printed as a plain decimal, the shortest text that reads back as f has
// the fewest decimals d of any decimal that reads back as f; that one is
// n/10^d with n = round(f*10^d). Both n and 10^d are exact float64s, so
// their quotient, correctly rounded, is the float64 that the decimal reads
// back as: when it equals f, f's text has exactly d decimals. Anything
// else (exponent form, -0, NaN, long fractions) is printed and counted.
func floatLen(f float64) int {
	abs := math.Abs(f)
	if f == math.Trunc(f) && abs < 1e15 && (f != 0 || !math.Signbit(f)) {
		return intLen(int64(f))
	}
	if abs >= 1e-6 && abs < maxShortDecimal {
		if _, ok := nearDecimal(abs, shortDecimals); ok || abs*exactPow10s[shortDecimals] >= maxShortDecimal {
			for d := 1; d < len(exactPow10s); d++ {
				n, ok := nearDecimal(abs, d)
				if n >= maxShortDecimal || !ok && d >= shortDecimals {
					break
				}
				if ok && n/exactPow10s[d] == abs {
					return decimalLen(f < 0, uint64(n), d)
				}
			}
		}
	}
	var buf [32]byte
	return len(appendFloatFast(buf[:0], f))
}

// decimalLen is the length of the text of n/10^d with exactly d decimals.
func decimalLen(negative bool, n uint64, d int) int {
	size := d + 2 // "0." before the decimals when there is no whole part
	if w := n / pow10s[d]; w > 0 {
		size = intLen(int64(w)) + 1 + d
	}
	if negative {
		size++
	}
	return size
}

// appendKey writes row i's key (its decimal text for int64 keys).
func (blk *colBlock) appendKey(b []byte, i int) []byte {
	if blk.keys.ints != nil {
		return strconv.AppendInt(b, int64(binary.LittleEndian.Uint64(blk.keys.ints[8*i:])), 10)
	}
	return append(b, blk.keys.texts.cell(i)...)
}

// tableColumn is one column of a columnar table update.
type tableColumn struct {
	typ   string
	nums  []byte    // f64, i64: 8 bytes a row
	cells cellTexts // json: one value a row
}

// cellTexts is a json column's cells, or text keys, as spans of the
// message, or of extra for a cell the message holds with spaces
// (compactCell). Blocks stay in tables' state, and spans are no pointers:
// the collector neither scans them nor clears their memory on allocation,
// where a slice per text was one more pointer to follow for every cell of
// every live block.
type cellTexts struct {
	msg   []byte
	extra []byte
	spans []uint64 // offset (bits 0-31), length (bits 32-62), inExtra
}

// inExtra marks a span of cellTexts.extra.
const inExtra = 1 << 63

// spanLen is the length of a cell's span.
func spanLen(s uint64) int { return int(uint32(s>>32) &^ (1 << 31)) }

// cell is row i's cell.
func (t *cellTexts) cell(i int) []byte {
	s := t.spans[i]
	src := t.msg
	if s&inExtra != 0 {
		src = t.extra
	}
	return src[uint32(s) : uint32(s)+uint32(spanLen(s))]
}

// append writes row i's value as JSON.
func (c *tableColumn) append(b []byte, i int) []byte {
	switch c.typ {
	case colF64:
		return appendFloatFast(b, math.Float64frombits(binary.LittleEndian.Uint64(c.nums[8*i:])))
	case colI64:
		return strconv.AppendInt(b, int64(binary.LittleEndian.Uint64(c.nums[8*i:])), 10)
	default:
		return append(b, c.cells.cell(i)...)
	}
}

// tableKeys is a columnar table update's keys: texts, or int64 numbers
// keyed by their decimal text.
type tableKeys struct {
	texts cellTexts
	ints  []byte // 8 bytes a key, little-endian, when the keys are i64
}

func (k *tableKeys) key(i int) Key {
	if k.ints != nil {
		var buf [20]byte
		return Key(strconv.AppendInt(buf[:0], int64(binary.LittleEndian.Uint64(k.ints[8*i:])), 10))
	}
	return Key(k.texts.cell(i))
}

// readKeys reads the keys section: n texts of 1 to maxKeyBytes bytes of
// UTF-8, or with key_type "i64" n int64 (whose decimal texts always fit).
func readKeys(r *colReader, keyType *string, n int) (tableKeys, error) {
	switch {
	case keyType != nil && *keyType == keyI64:
		ints, err := r.take("keys", 8*uint64(n))
		return tableKeys{ints: ints}, err
	case keyType != nil && *keyType != keyText:
		return tableKeys{}, fmt.Errorf("%w: table columns: key_type %q: want text or i64", ErrBadShape, truncate(*keyType, 20))
	}
	spans, err := r.spans("keys", n)
	if err != nil {
		return tableKeys{}, err
	}
	texts := cellTexts{msg: r.b, spans: spans}
	for i := range spans {
		k := texts.cell(i)
		if len(k) == 0 || len(k) > maxKeyBytes {
			return tableKeys{}, fmt.Errorf("%w: table columns: keys[%d]: want 1 to %d bytes of UTF-8, got %d bytes", ErrBadShape, i, maxKeyBytes, len(k))
		}
		if !utf8.Valid(k) {
			return tableKeys{}, fmt.Errorf("%w: table columns: keys[%d]: not valid UTF-8 (%q)", ErrBadShape, i, truncate(string(k), 40))
		}
	}
	return tableKeys{texts: texts}, nil
}

// appendFloatFast is appendFloat, with whole numbers of up to 15 digits
// (counts, ids, prices in cents kept as floats) printed as the integers
// they are: the same text, a few times faster.
func appendFloatFast(b []byte, f float64) []byte {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 && (f != 0 || !math.Signbit(f)) {
		return strconv.AppendInt(b, int64(f), 10)
	}
	return appendFloat(b, f)
}

// plainCell reports whether a cell is one JSON value that needs neither
// checking by the full parser nor compacting: a string without escapes or
// control characters (valid UTF-8), true, false, null, or a number as JSON
// writes it. Anything else (objects, arrays, escapes, spaces) goes through
// checkCell, which then names the problem.
func plainCell(c []byte) bool {
	if len(c) == 0 {
		return false
	}
	switch c[0] {
	case '"':
		if len(c) < 2 || c[len(c)-1] != '"' {
			return false
		}
		body := c[1 : len(c)-1]
		// Eight bytes at a time while they are plain ASCII: most cells
		// are, and each byte of a text column passes through here.
		for len(body) >= 8 && plainASCII8(binary.LittleEndian.Uint64(body)) {
			body = body[8:]
		}
		ascii := true
		for _, ch := range body {
			if ch < 0x20 || ch == '"' || ch == '\\' {
				return false
			}
			ascii = ascii && ch < 0x80
		}
		return ascii || utf8.Valid(c)
	case 't':
		return string(c) == "true"
	case 'f':
		return string(c) == "false"
	case 'n':
		return string(c) == "null"
	}
	return plainNumber(c)
}

// plainASCII8 reports whether the 8 bytes of w are all ASCII that a JSON
// string holds as it is: none below 0x20, '"', '\\' or 0x80 and above.
// (x - 0x01 in each byte) &^ x has a byte's top bit set where x has a zero
// byte, or a byte below a borrow from one: never without a zero byte.
func plainASCII8(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	zero := func(x uint64) uint64 { return (x - ones) &^ x & highs }
	below20 := (w - 0x20*ones) &^ w & highs // w has no top bits when this counts
	return (w&highs | below20 | zero(w^'"'*ones) | zero(w^'\\'*ones)) == 0
}

// plainNumber reports whether c is exactly a JSON number:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func plainNumber(c []byte) bool {
	i := 0
	if i < len(c) && c[i] == '-' {
		i++
	}
	digits := func() int {
		j := i
		for i < len(c) && c[i] >= '0' && c[i] <= '9' {
			i++
		}
		return i - j
	}
	switch {
	case i < len(c) && c[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(c) && c[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(c) && (c[i] == 'e' || c[i] == 'E') {
		i++
		if i < len(c) && (c[i] == '+' || c[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(c)
}

// checkCell accepts one JSON value in UTF-8, nested no deeper than a cell
// of a JSON {"ops": [{"row": {...}}]} may be.
func checkCell(cell []byte) error {
	if err := checkDepth(cell, maxDepth-4); err != nil {
		return err
	}
	if !utf8.Valid(cell) {
		return fmt.Errorf("%w: not valid UTF-8", ErrBadJSON)
	}
	if !json.Valid(cell) {
		return fmt.Errorf("%w: %q is not one JSON value", ErrBadJSON, truncate(string(cell), 40))
	}
	return nil
}

// compactCell is a cell as a JSON row stores it: without spaces between tokens.
func compactCell(cell []byte) []byte {
	if !bytes.ContainsAny(cell, " \t\r\n") {
		return cell
	}
	var out bytes.Buffer
	_ = json.Compact(&out, cell) // checkCell made sure it is JSON
	return out.Bytes()
}

// TableColumn is one column of EncodeTableColumns: exactly one of F64, I64
// or JSON (one JSON value per row) holds its values.
type TableColumn struct {
	Name string
	F64  []float64
	I64  []int64
	JSON []string
}

// EncodeTableColumns builds a columnar table update (docs/protocol.md §1.8)
// of the rows keyed keys[i] with the columns' i-th values; asOf is left out
// when nil. Tests and Go producers use it.
func EncodeTableColumns(keys []string, cols []TableColumn, asOf *float64) []byte {
	return encodeTableColumns(keys, nil, cols, asOf)
}

// EncodeTableColumnsIntKeys is EncodeTableColumns of rows keyed by whole
// numbers, sent as an int64 key column (key_type "i64"): row i's key is
// the decimal text of keys[i].
func EncodeTableColumnsIntKeys(keys []int64, cols []TableColumn, asOf *float64) []byte {
	if keys == nil {
		keys = []int64{}
	}
	return encodeTableColumns(nil, keys, cols, asOf)
}

func encodeTableColumns(keys []string, intKeys []int64, cols []TableColumn, asOf *float64) []byte {
	n := len(keys)
	if intKeys != nil {
		n = len(intKeys)
	}
	head := []byte(`{"n":`)
	head = strconv.AppendInt(head, int64(n), 10)
	head = append(head, `,"columns":[`...)
	types := []byte(`],"types":[`)
	for i, c := range cols {
		if i > 0 {
			head, types = append(head, ','), append(types, ',')
		}
		head = appendString(head, c.Name)
		switch {
		case c.F64 != nil:
			types = appendString(types, colF64)
		case c.I64 != nil:
			types = appendString(types, colI64)
		default:
			types = appendString(types, colJSON)
		}
	}
	head = append(append(head, types...), ']')
	if intKeys != nil {
		head = append(head, `,"key_type":"i64"`...)
	}
	if asOf != nil {
		head = append(head, `,"as_of":`...)
		head = appendFloat(head, *asOf)
	}
	head = append(head, '}')
	b := append([]byte(protocol.TableColumnsMagic), binary.LittleEndian.AppendUint32(nil, uint32(len(head)))...)
	b = append(b, head...)
	texts := func(ts []string) {
		for _, t := range ts {
			b = binary.LittleEndian.AppendUint32(b, uint32(len(t)))
		}
		for _, t := range ts {
			b = append(b, t...)
		}
	}
	if intKeys != nil {
		for _, k := range intKeys {
			b = binary.LittleEndian.AppendUint64(b, uint64(k))
		}
	} else {
		texts(keys)
	}
	for _, c := range cols {
		switch {
		case c.F64 != nil:
			for _, v := range c.F64 {
				b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
			}
		case c.I64 != nil:
			for _, v := range c.I64 {
				b = binary.LittleEndian.AppendUint64(b, uint64(v))
			}
		default:
			texts(c.JSON)
		}
	}
	return b
}
