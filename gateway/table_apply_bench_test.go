package gateway

import (
	"fmt"
	"testing"
)

// BenchmarkApplyColumnarIntKeys rewrites a table keyed by small whole
// numbers (0..n-1) with columnar updates of 10,000 rows each, cycling
// through the keys: the dense-slice path of widget.intRow.
func BenchmarkApplyColumnarIntKeys(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			const batch = 10000
			var bodies [][]byte
			for lo := 0; lo < n; lo += batch {
				keys := make([]int64, batch)
				vals := make([]float64, batch)
				for i := range keys {
					keys[i] = int64(lo + i)
					vals[i] = float64(i)
				}
				bodies = append(bodies, EncodeTableColumnsIntKeys(keys, []TableColumn{{Name: "v", F64: vals}}, nil))
			}
			benchApplyRows(b, newWidget(DefaultConfig("t", TypeTable, 10)), bodies, batch)
		})
	}
}

// BenchmarkDecodeAndApplySendManyRows decodes and applies the columnar
// updates bench/py/sdk.py's send_many phase sends: 10,000 rows each, keys
// cycling over 10,000 whole numbers, an int column, a float column of
// halves and a text column of one repeated value.
func BenchmarkDecodeAndApplySendManyRows(b *testing.B) {
	const batch, keys = 10000, 10000
	var bodies [][]byte
	for lo := 0; lo < 4*batch; lo += batch {
		k := make([]int64, batch)
		is := make([]int64, batch)
		vs := make([]float64, batch)
		names := make([]string, batch)
		for i := range k {
			k[i] = int64((lo + i) % keys)
			is[i] = int64(lo + i)
			vs[i] = float64(lo+i) * 0.5
			names[i] = `"row"`
		}
		bodies = append(bodies, EncodeTableColumnsIntKeys(k, []TableColumn{{Name: "i", I64: is}, {Name: "v", F64: vs}, {Name: "name", JSON: names}}, nil))
	}
	benchApplyRows(b, newWidget(DefaultConfig("rows", TypeTable, 100)), bodies, batch)
}

// benchApplyRows decodes and applies the bodies in turn, once each before
// timing (so the table holds every key), and reports the time per row.
func benchApplyRows(b *testing.B, w *widget, bodies [][]byte, rowsPerBody int) {
	b.Helper()
	apply := func(i int) {
		u, err := DecodeUpdate(bodies[i%len(bodies)], 0)
		if err != nil {
			b.Fatal(err)
		}
		_, _, d, _ := w.applyTable(u, 1<<30, 1<<40, 1<<40)
		w.bytes += d
	}
	for i := range bodies {
		apply(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		apply(i)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rowsPerBody), "ns/row")
}
