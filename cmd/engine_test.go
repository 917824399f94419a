package cmd

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/callagent/callagent/internal/leakcheck"
	"github.com/callagent/callagent/pkg/agent"
	"github.com/callagent/callagent/pkg/live/livetest"
	"github.com/callagent/callagent/pkg/livebridge"
	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/realtime/realtimetest"
)

// dev and serve dial the engine of the configuration's model: a gpt-live-* model
// reaches GPT-Live (session.start with the live: options), any other the Realtime API.
func TestFaultDialerFollowsTheModel(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	model := &livetest.Model{APIKey: "sk-test"}
	srv := httptest.NewServer(model)
	defer func() { srv.Close(); model.Close() }()
	opts := commonOptions{APIKey: "sk-test", BaseURL: srv.URL + "/v1"}
	delay := 250
	cfg := &agent.Config{Model: "gpt-live-1", Live: &agent.Live{BackendModel: "gpt-5.5-mini", AcknowledgementDelayMs: &delay}}
	leg, err := opts.dialer(cfg, "test")(ctx, "CAx")
	if err != nil {
		t.Fatal(err)
	}
	defer leg.CloseNow()
	if _, ok := leg.(*livebridge.Leg); !ok {
		t.Fatalf("a gpt-live model dialed a %T", leg)
	}
	if err := leg.Send(ctx, &realtime.SessionUpdate{Session: realtime.SessionConfig{Type: "realtime", Instructions: "Hi."}}); err != nil {
		t.Fatal(err)
	}
	select {
	case mc := <-model.Accepted():
		d := mc.Config().Delegation
		if mc.Config().Model != "gpt-live-1" || d.Responses.Model != "gpt-5.5-mini" || *d.AcknowledgementDelayMs != 250 {
			t.Errorf("session.start %+v", mc.Config())
		}
	case <-ctx.Done():
		t.Fatal("no Live session")
	}
	rm := &realtimetest.Model{APIKey: "sk-test"}
	rsrv := httptest.NewServer(rm)
	defer func() { rsrv.Close(); rm.Close() }()
	opts.BaseURL = rsrv.URL + "/v1"
	rleg, err := opts.dialer(&agent.Config{Model: "gpt-realtime"}, "test")(ctx, "CAy")
	if err != nil {
		t.Fatal(err)
	}
	defer rleg.CloseNow()
	if _, ok := rleg.(*realtime.Conn); !ok {
		t.Fatalf("a Realtime model dialed a %T", rleg)
	}
}
