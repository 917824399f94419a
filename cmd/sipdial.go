package cmd

import (
	"context"

	"github.com/callagent/callagent/pkg/realtime"
	"github.com/callagent/callagent/pkg/session"
)

// dialSideband opens the sideband WebSocket of the accepted SIP call callID.
func dialSideband(ctx context.Context, opts realtime.DialOptions, callID string) (session.ModelLeg, error) {
	opts.CallID = callID
	conn, err := realtime.Dial(ctx, opts)
	if err != nil {
		return nil, err // not conn: a typed nil would look like a leg
	}
	return conn, nil
}
