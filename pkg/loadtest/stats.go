package loadtest

import (
	"math"
	"slices"
	"sync"
	"time"
)

// Dist summarises a set of measurements in milliseconds.
type Dist struct {
	N   int     `json:"n"`
	Min float64 `json:"min_ms"`
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

// samples collects measurements from many goroutines.
type samples struct {
	mu sync.Mutex
	v  []float64 // ms
}

func (s *samples) add(d time.Duration) {
	s.addMs(float64(d.Microseconds()) / 1000)
}

func (s *samples) addMs(ms float64) {
	s.mu.Lock()
	s.v = append(s.v, ms)
	s.mu.Unlock()
}

func (s *samples) dist() Dist {
	s.mu.Lock()
	v := slices.Clone(s.v)
	s.mu.Unlock()
	return distOf(v)
}

func distOf(v []float64) Dist {
	if len(v) == 0 {
		return Dist{}
	}
	slices.Sort(v)
	q := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(v)))) - 1
		return round(v[min(max(i, 0), len(v)-1)])
	}
	return Dist{N: len(v), Min: round(v[0]), P50: q(0.50), P90: q(0.90), P99: q(0.99), Max: round(v[len(v)-1])}
}

func round(ms float64) float64 { return math.Round(ms*100) / 100 }
