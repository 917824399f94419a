package session

import "errors"

// ErrSessionRejected is wrapped by the error a call ends with (EndModelRejected) when
// the model refused a session.update or confirmed a session callagent cannot run a
// phone call on (not audio/pcmu both ways).
var ErrSessionRejected = errors.New("the model refused the session configuration")
