package server

import (
	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
)

// logEvent writes a call event to the event logger as calllog.Record shapes it
// (type, ns, call_sid, fields), so JSON logs of a server read back with
// `callagent logs -`. Levels: call start and end, transcripts, tools at info;
// errors and warnings above; frames, speech detection and media counts at debug.
// Secrets are redacted; with OmitTranscripts nothing said is logged.
func (s *Server) logEvent(ev callevent.Event) {
	if s.cfg.OmitTranscripts {
		ev = callevent.WithoutText(ev)
	}
	calllog.LogEvent(s.elog, ev, s.cfg.Redactor)
}
