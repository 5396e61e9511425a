package gateway

import (
	"bytes"
	"errors"
	"strconv"
)

// errPointsSlowPath tells DecodeUpdate that the points are not in the plain
// form pointList parses, so the message must take the reference decoder.
// It never leaves DecodeUpdate.
var errPointsSlowPath = errors.New("points need the reference decoder")

// pointList is the points array of a chart update, parsed by hand: with
// encoding/json calling Point.UnmarshalJSON for each point, decoding a batch
// cost several allocations and two extra scans per point.
//
// It handles only points that the reference path (rawPoint.UnmarshalJSON)
// accepts with a number x: [x, y] with x a finite number and y a number or
// null. Anything else, valid or
// not, returns errPointsSlowPath so the reference path decides, and says why.
type pointList []Point

func (l *pointList) UnmarshalJSON(b []byte) error {
	pts, ok := parsePoints(b)
	if !ok {
		return errPointsSlowPath
	}
	*l = pts
	return nil
}

// parsePoints parses b, which encoding/json has already checked is valid
// JSON; it still checks every bound, since it is fuzzed on its own too.
func parsePoints(b []byte) ([]Point, bool) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return nil, false
	}
	// Every point opens a bracket and takes at least 6 bytes ("[1,2],"):
	// a capacity that avoids regrowing and that hostile input ("[" inside
	// strings) cannot inflate beyond what real points would need.
	pts := make([]Point, 0, min(bytes.Count(b, []byte{'['})-1, len(b)/6))
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return pts, skipSpace(b, i+1) == len(b)
	}
	for {
		var p Point
		var ok bool
		if i >= len(b) || b[i] != '[' {
			return nil, false
		}
		if p.X, i, ok = parsePointX(b, skipSpace(b, i+1)); !ok {
			return nil, false
		}
		if i = skipSpace(b, i); i >= len(b) || b[i] != ',' {
			return nil, false
		}
		if p.Y, i, ok = parsePointY(b, skipSpace(b, i+1)); !ok {
			return nil, false
		}
		if i = skipSpace(b, i); i >= len(b) || b[i] != ']' {
			return nil, false
		}
		pts = append(pts, p)
		if i = skipSpace(b, i+1); i >= len(b) {
			return nil, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case ']':
			return pts, skipSpace(b, i+1) == len(b)
		default:
			return nil, false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// numberEnd returns the end of the number token starting at i.
func numberEnd(b []byte, i int) int {
	for i < len(b) {
		switch c := b[i]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
			i++
		default:
			return i
		}
	}
	return i
}

func parsePointX(b []byte, i int) (Time, int, bool) {
	if i >= len(b) {
		return 0, i, false
	}
	if b[i] == '"' {
		// A string is a time or, in a category chart, a category: the
		// reference decoder keeps its text for the state to decide.
		return 0, i, false
	}
	end := numberEnd(b, i)
	if end == i {
		return 0, i, false
	}
	t, ok := parseMSTime(b[i:end])
	return t, end, ok
}

func parsePointY(b []byte, i int) (Num, int, bool) {
	if bytes.HasPrefix(b[i:], []byte("null")) {
		return Num{}, i + 4, true
	}
	end := numberEnd(b, i)
	if end == i {
		return Num{}, i, false
	}
	f, err := strconv.ParseFloat(string(b[i:end]), 64)
	if err != nil {
		return Num{}, i, false
	}
	return Num{V: f, Valid: true}, end, true
}
