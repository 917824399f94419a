package sipcall

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/retry"
)

type seen struct {
	method, path, auth, body string
}

func recorder(t *testing.T, answer func(n int, w http.ResponseWriter)) (*httptest.Server, func() []seen) {
	var mu sync.Mutex
	var got []seen
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, seen{r.Method, r.URL.Path, r.Header.Get("Authorization"), string(b)})
		n := len(got)
		mu.Unlock()
		answer(n, w)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []seen { mu.Lock(); defer mu.Unlock(); return append([]seen(nil), got...) }
}

func noWait() retry.Policy {
	return retry.Policy{Sleep: func(context.Context, time.Duration) error { return nil }}
}

func TestClientRoutesAndBodies(t *testing.T) {
	srv, got := recorder(t, func(int, http.ResponseWriter) {})
	c := NewClient(srv.URL+"/v1/", "sk-test", srv.Client())
	ctx := context.Background()
	sess := map[string]any{"type": "realtime", "model": "gpt-realtime", "instructions": "hi"}
	for _, step := range []error{
		c.Accept(ctx, EngineRealtime, "rtc_1", sess),
		c.Accept(ctx, EngineLive, "live_1", map[string]any{"type": "live", "model": "gpt-live-1"}),
		c.Reject(ctx, EngineRealtime, "rtc_2", 486),
		c.Reject(ctx, EngineLive, "live_2", 0),
		c.Refer(ctx, EngineRealtime, "rtc_1", "tel:+14155550123"),
		c.Hangup(ctx, EngineLive, "live_1"),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}
	want := []seen{
		{"POST", "/v1/realtime/calls/rtc_1/accept", "Bearer sk-test", `{"instructions":"hi","model":"gpt-realtime","type":"realtime"}`},
		{"POST", "/v1/live/sessions/live_1/accept", "Bearer sk-test", `{"session":{"model":"gpt-live-1","type":"live"}}`},
		{"POST", "/v1/realtime/calls/rtc_2/reject", "Bearer sk-test", `{"status_code":486}`},
		{"POST", "/v1/live/sessions/live_2/reject", "Bearer sk-test", `{"status_code":603}`},
		{"POST", "/v1/realtime/calls/rtc_1/refer", "Bearer sk-test", `{"target_uri":"tel:+14155550123"}`},
		{"POST", "/v1/live/sessions/live_1/hangup", "Bearer sk-test", ``},
	}
	if g := got(); len(g) != len(want) {
		t.Fatalf("requests %+v", g)
	} else {
		for i := range want {
			if g[i] != want[i] {
				t.Errorf("request %d = %+v, want %+v", i, g[i], want[i])
			}
		}
	}
	// Refused before any request.
	if err := c.Refer(ctx, EngineRealtime, "rtc_1", "https://evil"); err == nil {
		t.Fatal("refer to a non-SIP target was sent")
	}
	if err := c.Reject(ctx, EngineRealtime, "rtc_1", 200); err == nil {
		t.Fatal("reject with 200 was sent")
	}
	if err := c.Hangup(ctx, EngineRealtime, "../models"); err == nil {
		t.Fatal("an id with a path was sent")
	}
	if n := len(got()); n != len(want) {
		t.Fatalf("%d requests, want %d", n, len(want))
	}
}

func TestClientAPIError(t *testing.T) {
	srv, _ := recorder(t, func(_ int, w http.ResponseWriter) {
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"error":{"message":"Call not found.","type":"invalid_request_error","code":"call_id_not_found","param":null}}`)
	})
	c := NewClient(srv.URL, "sk-secret-key", srv.Client())
	err := c.Accept(context.Background(), EngineRealtime, "rtc_gone", map[string]any{"type": "realtime"})
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 404 || apiErr.Code != CodeCallNotFound || !apiErr.CallGone() ||
		apiErr.Type != "invalid_request_error" || apiErr.Op != "accept" {
		t.Fatalf("err = %#v", err)
	}
	if strings.Contains(err.Error(), "sk-secret-key") {
		t.Fatal("the key is in the error")
	}
}

func TestClientRetries(t *testing.T) {
	answers := func(statuses ...int) func(int, http.ResponseWriter) {
		return func(n int, w http.ResponseWriter) {
			s := statuses[min(n, len(statuses))-1]
			w.WriteHeader(s)
			if s == 404 {
				json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": CodeCallNotFound, "type": "invalid_request_error", "message": "gone"}})
			}
		}
	}
	ctx := context.Background()
	cases := []struct {
		name     string
		statuses []int
		op       func(*Client) error
		wantErr  bool
		requests int
	}{
		{"accept after 429", []int{429, 200}, func(c *Client) error { return c.Accept(ctx, EngineRealtime, "rtc_1", map[string]any{}) }, false, 2},
		{"accept not after 500", []int{500, 200}, func(c *Client) error { return c.Accept(ctx, EngineRealtime, "rtc_1", map[string]any{}) }, true, 1},
		{"refer not after 503", []int{503, 200}, func(c *Client) error { return c.Refer(ctx, EngineRealtime, "rtc_1", "tel:+1") }, true, 1},
		{"hangup after 502", []int{502, 200}, func(c *Client) error { return c.Hangup(ctx, EngineRealtime, "rtc_1") }, false, 2},
		{"hangup retried finds it ended", []int{500, 404}, func(c *Client) error { return c.Hangup(ctx, EngineRealtime, "rtc_1") }, false, 2},
		{"hangup of a call gone", []int{404}, func(c *Client) error { return c.Hangup(ctx, EngineRealtime, "rtc_1") }, true, 1},
		{"reject bounded", []int{500}, func(c *Client) error { return c.Reject(ctx, EngineLive, "live_1", 486) }, true, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, got := recorder(t, answers(tc.statuses...))
			c := NewClient(srv.URL, "k", srv.Client())
			c.Retry = noWait()
			err := tc.op(c)
			if (err != nil) != tc.wantErr || len(got()) != tc.requests {
				t.Fatalf("err %v after %d requests; want error %v after %d", err, len(got()), tc.wantErr, tc.requests)
			}
		})
	}
}
