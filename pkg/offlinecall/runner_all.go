package offlinecall

import (
	"context"
	"sync"
	"time"
)

// Outcome is one scenario's run in RunAll.
type Outcome struct {
	Scenario *Scenario
	// Result is the call; nil when Err is set.
	Result *Result
	// Err is why the scenario could not be tested (ErrModelUnreachable, speech that
	// could not be prepared, the context's error): neither a pass nor a failure.
	Err error
	// Elapsed is the scenario's wall time, setup included.
	Elapsed time.Duration
}

// Passed reports whether the call was made and every expectation held.
func (o *Outcome) Passed() bool {
	return o.Err == nil && o.Result != nil && len(o.Result.Failures) == 0
}

// RunAll runs each scenario as its own call with opts (its Scenario replaced), at
// most parallel at a time, in the order given, and returns their outcomes in that
// order. done, when set, hears of each outcome as it finishes, one at a time.
// opts.OnEvent receives the events of every call, possibly at the same time from
// different calls; opts.RecordPath must be empty with more than one scenario.
func RunAll(ctx context.Context, opts Options, scenarios []*Scenario, parallel int, done func(i int, o *Outcome)) []*Outcome {
	parallel = max(1, parallel)
	out := make([]*Outcome, len(scenarios))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	var doneMu sync.Mutex
	for i, sc := range scenarios {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			out[i] = &Outcome{Scenario: sc, Err: ctx.Err()}
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			o := opts
			o.Scenario = sc
			start := time.Now()
			res, err := Run(ctx, o)
			oc := &Outcome{Scenario: sc, Result: res, Err: err, Elapsed: time.Since(start)}
			out[i] = oc
			if done != nil {
				doneMu.Lock()
				done(i, oc)
				doneMu.Unlock()
			}
		})
	}
	wg.Wait()
	return out
}
