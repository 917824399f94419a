package session_test

import (
	"context"
	"errors"

	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/twiliotransport"
)

// nopCaller is a caller leg that never says anything, for tests of option checking.
type nopCaller struct{}

func (nopCaller) Start() twiliotransport.Start { return twiliotransport.Start{} }
func (nopCaller) ReadFrame(ctx context.Context) (twiliotransport.Frame, error) {
	<-ctx.Done()
	return nil, errors.New("closed")
}
func (nopCaller) SendAudio(_ context.Context, _, _ string, p []byte) (int, bool, error) {
	return len(p) / 4 * 3, true, nil
}
func (nopCaller) Interrupt(context.Context, string) (twiliotransport.Interruption, error) {
	return twiliotransport.Interruption{}, nil
}
func (nopCaller) EndAudio(context.Context) error     { return nil }
func (nopCaller) WaitPlayed(context.Context) error   { return nil }
func (nopCaller) SetTrace(twiliotransport.TraceFunc) {}
func (nopCaller) Close() error                       { return nil }
func (nopCaller) CloseNow() error                    { return nil }

var _ = realtime.TypeError
