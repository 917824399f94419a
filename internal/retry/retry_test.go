package retry

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"
)

func TestWait(t *testing.T) {
	var waits []time.Duration
	p := Policy{Sleep: func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	ctx := context.Background()
	if !p.Wait(ctx, 1, 0) || !p.Wait(ctx, 2, 0) || p.Wait(ctx, 3, 0) {
		t.Fatal("want two retries, then none")
	}
	if !p.Wait(ctx, 1, 2*time.Second) || p.Wait(ctx, 1, time.Minute) {
		t.Fatal("Retry-After: followed up to Max, refused beyond")
	}
	if want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}; !slices.Equal(waits, want) {
		t.Fatalf("waits %v, want %v", waits, want)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if p.Wait(short, 1, 0) {
		t.Error("waited past the context's deadline")
	}
	if (Policy{Attempts: 1}).Wait(ctx, 1, 0) {
		t.Error("Attempts 1 retried")
	}
}

func TestStatusAndRetryAfter(t *testing.T) {
	for code, want := range map[int]bool{429: true, 500: true, 502: true, 503: true, 400: false, 401: false, 404: false, 200: false} {
		if Status(code) != want {
			t.Errorf("Status(%d) = %v", code, !want)
		}
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for v, want := range map[string]time.Duration{"": 0, "3": 3 * time.Second, "-1": 0, "soon": 0,
		now.Add(7 * time.Second).Format(http.TimeFormat): 7 * time.Second, now.Add(-time.Hour).Format(http.TimeFormat): 0} {
		if got := RetryAfter(http.Header{"Retry-After": {v}}, now); got != want {
			t.Errorf("Retry-After %q: %v, want %v", v, got, want)
		}
	}
}
