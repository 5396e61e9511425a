package main

import (
	"math"
	"math/bits"
	"sort"
)

// hist is a log-linear histogram of microsecond values: exact below 64 µs,
// then 32 buckets per power of two (under 3% error). Adding is a few
// instructions and merging is a loop, so every client keeps its own and the
// hot path shares nothing; ten million deliveries cost no memory.
type hist struct {
	counts [64 + 40*32]uint64
	n      uint64
	max    int64
}

func histBucket(v int64) int {
	if v < 64 {
		return int(max(v, 0))
	}
	shift := bits.Len64(uint64(v)) - 6 // v>>shift is in [32, 63]
	return 64 + (shift-1)*32 + int(v>>shift) - 32
}

// histValue is the middle of bucket i.
func histValue(i int) int64 {
	if i < 64 {
		return int64(i)
	}
	shift := (i-64)/32 + 1
	lo := int64((i-64)%32+32) << shift
	return lo + (int64(1)<<shift)/2
}

func (h *hist) add(v int64) {
	i := min(histBucket(v), len(h.counts)-1)
	h.counts[i]++
	h.n++
	h.max = max(h.max, v)
}

func (h *hist) merge(o *hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the value at q (0..1) of what was added.
func (h *hist) quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(histValue(i), h.max)
		}
	}
	return h.max
}

// latencyFields summarizes a microsecond histogram in milliseconds.
func latencyFields(h *hist, prefix string, out map[string]any) {
	out[prefix+"_ms_p50"] = round(float64(h.quantile(0.50))/1000, 2)
	out[prefix+"_ms_p90"] = round(float64(h.quantile(0.90))/1000, 2)
	out[prefix+"_ms_p99"] = round(float64(h.quantile(0.99))/1000, 2)
	out[prefix+"_ms_p999"] = round(float64(h.quantile(0.999))/1000, 2)
	out[prefix+"_ms_max"] = round(float64(h.max)/1000, 2)
	out[prefix+"_samples"] = h.n
}

// percentile of xs by nearest rank (xs is not modified).
func percentile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// median averages the middle two of an even count.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
