package gateway

import (
	"fmt"
	"testing"
)

// BenchmarkRowsFold is what the state spends per Pathway row of a groupby table
// updated in place (per time, 100 of 1,000 keys each get a retraction and an
// insertion), from the stored message to the folded update applied: decode,
// fold, apply, event. ns/op is per row.
func BenchmarkRowsFold(b *testing.B) {
	for _, cfg := range []struct{ name, config string }{
		{"table", `{"type":"table","key":["region"]}`},
		{"chart", `{"type":"chart","x":"region","y":"revenue"}`},
	} {
		b.Run(cfg.name, func(b *testing.B) {
			limits := Limits{}
			limits.setDefaults()
			h := newState(1000, 100000, limits, newResumeLog(64<<20))
			seq := uint64(0)
			apply := func(subject string, data []byte) {
				seq++
				if err := h.apply(message{seq: pos(seq, 0), subject: subject, data: data, ms: 1}); err != nil {
					b.Fatal(err)
				}
			}
			apply("sv.w.config", []byte(cfg.config))
			revenue := make([]int, 1000)
			for k := range revenue {
				apply("sv.w.rows", fmt.Appendf(nil, `{"region":%d,"revenue":0,"diff":1,"time":0}`, k))
			}
			msgs := make([][]byte, 0, b.N+1)
			for i := 0; len(msgs) < b.N; i++ {
				t, k := 2+2*(i/100), i%1000
				msgs = append(msgs, fmt.Appendf(nil, `{"region":%d,"revenue":%d,"diff":-1,"time":%d}`, k, revenue[k], t))
				revenue[k]++
				msgs = append(msgs, fmt.Appendf(nil, `{"region":%d,"revenue":%d,"diff":1,"time":%d}`, k, revenue[k], t))
			}
			b.ResetTimer()
			for _, m := range msgs[:b.N] {
				apply("sv.w.rows", m)
			}
		})
	}
}
