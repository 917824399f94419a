package cmd

import (
	"context"
	"errors"

	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/session"
)

// dialSideband opens the sideband WebSocket of the SIP call callID.
func dialSideband(ctx context.Context, opts realtime.DialOptions, callID string) (session.ModelLeg, error) {
	return nil, errors.New("the sideband dial needs pkg/realtime's DialOptions.CallID (branch i19-proto)")
}
