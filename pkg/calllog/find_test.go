package calllog_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/calllog"
)

// A call SID copied from the list or from a call marker, elided, finds its call.
func TestFindElidedSID(t *testing.T) {
	dir := t.TempDir()
	w := calllog.NewWriter(calllog.Options{Dir: dir})
	writeCall(t, w, "CA1111aaaa", t0)
	writeCall(t, w, "CA1111bbbb", t0.Add(time.Hour))
	w.Close()
	for in, want := range map[string]string{"CA11…aaaa": "CA1111aaaa", "…bbbb": "CA1111bbbb", "CA1...bb": "CA1111bbbb", "CA1111a…a": "CA1111aaaa"} {
		if p, err := calllog.Find(dir, in); err != nil || !strings.HasSuffix(p, want+".jsonl") {
			t.Errorf("%q: %s %v", in, p, err)
		}
	}
	if _, err := calllog.Find(dir, "CA1111aa…aaaa"); !errors.Is(err, calllog.ErrNoCall) { // the ends overlap: too long
		t.Errorf("overlapping ends: %v", err)
	}
	if _, err := calllog.Find(dir, "…"); err == nil || !strings.Contains(err.Error(), "matches 2 calls") {
		t.Errorf("no ends: %v", err)
	}
}
