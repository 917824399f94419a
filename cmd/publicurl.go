package cmd

import (
	"errors"
	"fmt"

	"github.com/callagent/callagent/internal/publicurl"
)

// parsePublicURL checks the --public-url of dev, serve and call (or
// CALLAGENT_PUBLIC_URL) by publicurl's rule, the one the server and the local
// tunnel apply too, and names the flag in the error.
func parsePublicURL(s string) (string, error) {
	u, err := publicurl.Parse(s)
	var pe *publicurl.Error
	if errors.As(err, &pe) {
		return "", commandLineError(fmt.Errorf("--public-url %q: %s", pe.Input, pe.Reason))
	}
	return u, err
}
