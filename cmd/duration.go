package cmd

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// durationUsage is how every duration flag's help text ends: one syntax, one
// example, whichever command.
const durationUsage = "like 2d, 36h or 90m"

// days is THE duration flag: Go's durations (36h, 90m, 1h30m) and days (2d,
// 1.5d, 1d12h), never negative. Every flag that could sensibly take days uses it,
// so `--since 2d` works where `--call-log-max-age 14d` does.
type days time.Duration

func (d *days) String() string {
	v := time.Duration(*d)
	if v == 0 {
		return "0" // pflag shows no default for it
	}
	if v > 0 && v%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", v/(24*time.Hour))
	}
	return v.String()
}

// Set parses s; pflag puts the flag's name and the value before the error:
// invalid argument "2x" for "--since" flag: want a duration like 2d, 36h or 90m.
func (d *days) Set(s string) error {
	v, err := parseDays(s)
	if err != nil {
		return err
	}
	*d = days(v)
	return nil
}

func (d *days) Type() string { return "duration" }

var errDuration = errors.New("want a duration " + durationUsage)

// parseDays reads a duration that may begin with a number of days.
func parseDays(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("%w, not negative", errDuration)
	}
	var v time.Duration
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.ParseFloat(s[:i], 64)
		if err != nil || n < 0 || n > 100*365 || strings.ContainsAny(s[:i], "eExXpP_+") {
			return 0, errDuration
		}
		v, s = time.Duration(n*float64(24*time.Hour)), s[i+1:]
		if s == "" {
			return v, nil
		}
	}
	rest, err := time.ParseDuration(s)
	if err != nil || rest < 0 || strings.HasPrefix(s, "+") {
		return 0, errDuration
	}
	return v + rest, nil
}
