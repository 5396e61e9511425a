package gateway

import (
	"fmt"
	"testing"
)

// BenchmarkApplyEvent is what the state and the resume log spend per update
// of workload 3's shape (docs/benchmarks.md: stats and charts updated round
// robin), from the stored message to its event in the log: decode, fold,
// encode, append. ns/op is per update. The sockets' side (frames, writes) is
// not in it: workload 3 measures that.
func BenchmarkApplyEvent(b *testing.B) {
	limits := Limits{}
	limits.setDefaults()
	st := newState(1000, 100000, limits, newResumeLog(64<<20))
	st.startAt(0, 0)
	const widgets = 8 // 4 stats, 4 charts
	subjects := make([]string, widgets)
	for i := range subjects {
		typ := "stat"
		if i%2 == 1 {
			typ = "chart"
		}
		subjects[i] = fmt.Sprintf("sv.w%d.data", i)
		cfg := fmt.Appendf(nil, `{"type":%q}`, typ)
		if err := st.apply(message{seq: pos(uint64(i+1), 0), subject: fmt.Sprintf("sv.w%d.config", i), data: cfg, ms: 1}); err != nil {
			b.Fatal(err)
		}
	}
	msgs := make([]message, b.N)
	for i := range msgs {
		var data []byte
		if i%2 == 0 {
			data = fmt.Appendf(nil, `{"value":%d.5,"ts":%d}`, i, 1764000000000+i)
		} else {
			data = fmt.Appendf(nil, `{"x":%d,"y":%d.25}`, 1764000000000+i, i)
		}
		msgs[i] = message{seq: pos(uint64(widgets+1+i), 0), subject: subjects[i%widgets], data: data, ms: 1}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for _, m := range msgs {
		if err := st.apply(m); err != nil {
			b.Fatal(err)
		}
	}
}
