package cmd

import (
	"fmt"
	"net"

	"github.com/callagent/callagent/pkg/realtime"
)

// checkListenAddr checks a listen address given by flag (or its variable) before
// anything is opened: a value that cannot be an address is a usage error (exit 2),
// where a listen that fails later (the port is taken) is not.
func checkListenAddr(flag, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		// A number, or a service name as net.Listen takes (:https); no lookup leaves
		// the machine.
		if _, err = net.LookupPort("tcp", port); err == nil {
			return nil
		}
	}
	return commandLineError(fmt.Errorf("%s %q is not host:port (say 127.0.0.1:5050, or :5050 for every interface)", flag, sanitize(addr)))
}

// checkBaseURL checks OPENAI_BASE_URL when it is set: a bad value is a usage error
// at start, not a failure of every call.
func checkBaseURL(base string) error {
	if base == "" {
		return nil
	}
	if _, err := realtime.URL(base, ""); err != nil {
		return usageErrorf("%s: fix it, or unset OPENAI_BASE_URL to use OpenAI's", sanitize(err.Error()))
	}
	return nil
}
