package gateway

import (
	"fmt"
	"strings"
	"testing"
)

// chartBatch is a batched chart update as the Python SDK sends it: n points
// with millisecond times and float values.
func chartBatch(n int) []byte {
	var sb strings.Builder
	sb.WriteString(`{"series": "p99", "points": [`)
	for i := range n {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "[%d, %.4f]", 1732713600000+int64(i)*250, 100+float64(i%97)*1.37)
	}
	sb.WriteString("]}")
	return []byte(sb.String())
}

// BenchmarkDecodeChartBatch compares DecodeUpdate (points parsed by
// pointList) with the reference path (encoding/json and Point.UnmarshalJSON
// per point) on the same messages, so one run shows both under the same load.
func BenchmarkDecodeChartBatch(b *testing.B) {
	decoders := []struct {
		name   string
		decode func([]byte, float64) (*Update, error)
	}{{"fast", DecodeUpdate}, {"reference", decodeUpdateReference}}
	for _, n := range []int{1, 100, 1000} {
		msg := chartBatch(n)
		for _, d := range decoders {
			b.Run(fmt.Sprintf("points=%d/%s", n, d.name), func(b *testing.B) {
				b.SetBytes(int64(len(msg)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := d.decode(msg, 1); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
