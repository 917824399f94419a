package cmd

import (
	"fmt"
	"time"

	"github.com/callagent/callagent/pkg/calllog"
)

// attached introduces a call that logs -f joined midway, before its first new
// line: the header its start would have printed, and since when it runs. The
// JSON lines of --json carry their call SID themselves.
func (v *logView) attached(c calllog.Call) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.o.JSON {
		return
	}
	st := v.p.st
	v.p.width = v.f.outWidth()
	sid := sanitize(c.CallSID)
	what := fmt.Sprintf("● call %s from %s to %s", sid, orUnknown(sanitize(c.From)), orUnknown(sanitize(c.To)))
	if !c.Streamed {
		what += ", waiting for its media stream"
	}
	ago := v.f.Now().Sub(c.Started).Round(time.Second)
	when := fmt.Sprintf(" (in progress since %s, %s ago; following from here)", c.Started.Local().Format("15:04:05"), ago)
	if ago < 0 {
		when = fmt.Sprintf(" (in progress since %s; following from here)", c.Started.Local().Format("15:04:05"))
	}
	v.p.calls[sid] = true
	fmt.Fprint(v.f.IO.Out, v.p.fit(callMark(st, sid), st.System.Render(what)+st.Dim.Render(when)+"\n"))
}
