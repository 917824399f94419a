package cmd

import (
	"fmt"
	"io"
	"strings"
	"time"

	"charm.land/lipgloss/v2"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/calllog"
	"github.com/callagent/callagent/pkg/pricing"
)

// Styles are the terminal styles, named by role and defined once.
type Styles struct {
	Caller, Agent, Tool, System, OK, Error, Dim lipgloss.Style
}

// newStyles returns colored styles, or plain ones (no escape codes at all) when
// color is false: piped output and NO_COLOR get the same text without decoration.
func newStyles(color bool) Styles {
	if !color {
		p := lipgloss.NewStyle()
		return Styles{Caller: p, Agent: p, Tool: p, System: p, OK: p, Error: p, Dim: p}
	}
	return Styles{
		Caller: lipgloss.NewStyle().Foreground(lipgloss.Color("6")).Bold(true), // cyan
		Agent:  lipgloss.NewStyle().Foreground(lipgloss.Color("5")).Bold(true), // magenta
		Tool:   lipgloss.NewStyle().Foreground(lipgloss.Color("3")),            // yellow
		System: lipgloss.NewStyle().Foreground(lipgloss.Color("4")),            // blue
		OK:     lipgloss.NewStyle().Foreground(lipgloss.Color("2")),            // green
		Error:  lipgloss.NewStyle().Foreground(lipgloss.Color("1")).Bold(true), // red
		Dim:    lipgloss.NewStyle().Faint(true),
	}
}

// useColor decides decoration: a terminal, and NO_COLOR unset (any value disables it,
// as no-color.org asks, even "0" or "false").
func useColor(tty bool, env *Env) bool {
	if !tty || env.Getenv("NO_COLOR") != "" || env.Getenv("TERM") == "dumb" {
		return false
	}
	return true
}

// label pads a speaker label so the text columns line up.
func label(st lipgloss.Style, s string) string {
	return st.Render(fmt.Sprintf("%-7s", s)) + " "
}

const indent = "        "

// clip shortens s to n runes with an ellipsis.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// latencyParts says briefly where a turn's latency went: its nonzero parts, in
// order, and the total from the caller's real end of speech.
func latencyParts(e callevent.TurnLatency) string {
	var parts []string
	for _, p := range []struct {
		name string
		d    time.Duration
	}{{"endpointing", e.Endpointing}, {"model", e.ModelWait}, {"tools", e.Tools}, {"approval", e.Approval},
		{"first audio", e.FirstAudio}, {"relay", e.Relay}} {
		if p.d > 0 {
			parts = append(parts, p.name+" "+ms(p.d))
		}
	}
	return strings.Join(parts, " + ") + " = " + ms(e.Total)
}

func ms(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1fs", d.Seconds())
}

var endReasons = map[callevent.EndReason]string{
	callevent.EndCallerHangup:       "the caller hung up",
	callevent.EndCallerDisconnected: "the caller's stream closed",
	callevent.EndCallerTimeout:      "the caller's stream went silent",
	callevent.EndModelDisconnected:  "the model connection was lost",
	callevent.EndModelDialFailed:    "the model could not be reached",
	callevent.EndModelRejected:      "the model refused the session's configuration",
	callevent.EndCancelled:          "stopped",
	callevent.EndAgentHangup:        "the agent hung up",
	callevent.EndMaxDuration:        "the time limit was reached",
	callevent.EndServerShutdown:     "the server shut down",
	callevent.EndIdle:               "the line stayed silent",
	callevent.EndTransferred:        "the call was transferred",
	callevent.EndMaxCost:            "the cost limit was reached",
}

// render returns the text an event prints, with its newline, or "" for events that
// print nothing. Debug events (raw frames, speech detection, media statistics,
// response ends, hosted MCP progress) print only when debug is set: their
// namespace is enabled. It is pure. Every string of the event goes through
// sanitize first, fields added later included.
func render(ev callevent.Event, st Styles, debug bool) string {
	return renderClean(sanitizeEvent(ev), st, debug)
}

// renderClean is render for an event sanitizeEvent has cleaned: it interpolates
// the event's fields as they are.
func renderClean(ev callevent.Event, st Styles, debug bool) string {
	switch e := ev.(type) {
	case callevent.SpeechStarted:
		if debug {
			return indent + st.Dim.Render(fmt.Sprintf("· caller started speaking (at %s)", ms(time.Duration(e.AudioStartMs)*time.Millisecond))) + "\n"
		}
	case callevent.SpeechStopped:
		if debug {
			return indent + st.Dim.Render(fmt.Sprintf("· caller stopped speaking (at %s)", ms(time.Duration(e.AudioEndMs)*time.Millisecond))) + "\n"
		}
	case callevent.ResponseDone:
		if debug {
			s := "· response " + e.Status
			if e.Reason != "" {
				s += " (" + e.Reason + ")"
			}
			if e.Usage != nil && e.Usage.TotalTokens > 0 {
				s += fmt.Sprintf(", %d tokens", e.Usage.TotalTokens)
			}
			return indent + st.Dim.Render(s) + "\n"
		}
	case callevent.MediaStats:
		if debug {
			return indent + st.Dim.Render(fmt.Sprintf("· media: %d frames (%d B) in, %d frames (%d B) out", e.InFrames, e.InBytes, e.OutFrames, e.OutBytes)) + "\n"
		}
	case callevent.CallStarted:
		return st.System.Render(fmt.Sprintf("● call %s from %s to %s", e.CallSID, orUnknown(e.From), orUnknown(e.To))) + "\n"
	case callevent.ModelConnected:
		s := fmt.Sprintf("model ready after %s", ms(e.DialTime))
		if e.BufferedFrames > 0 {
			s += fmt.Sprintf(", %d caller frames held meanwhile", e.BufferedFrames)
		}
		return indent + st.Dim.Render(s) + "\n"
	case callevent.CallerTranscript:
		return label(st.Caller, "caller") + strings.TrimSpace(e.Text) + "\n"
	case callevent.DTMF:
		return label(st.Caller, "caller") + st.Dim.Render("pressed "+e.Digit) + "\n"
	case callevent.AgentTranscript:
		s := label(st.Agent, "agent") + strings.TrimSpace(e.Text)
		if e.Interrupted {
			s += " " + st.Dim.Render("(cut off)")
		}
		return s + "\n"
	case callevent.Interruption:
		s := "✂ caller barged in"
		for i, t := range e.Truncations {
			if i == 0 {
				s += fmt.Sprintf(": heard %s of %s", ms(time.Duration(t.AudioEndMs)*time.Millisecond), ms(time.Duration(t.SentMs)*time.Millisecond))
			} else {
				s += fmt.Sprintf(", %s unheard", ms(time.Duration(t.SentMs)*time.Millisecond))
			}
		}
		return indent + st.Dim.Render(s) + "\n"
	case callevent.TurnLatency:
		s := "⏱ answered in " + ms(e.Latency)
		if debug && e.Total > 0 {
			s += " (" + latencyParts(e) + ")"
		}
		return indent + st.Dim.Render(s) + "\n"
	case callevent.TurnPlayout:
		if debug {
			return indent + st.Dim.Render("· first audio played "+ms(e.Playout)+" after it was sent") + "\n"
		}
	case callevent.ToolCall:
		return label(st.Tool, "tool") + st.Tool.Render(e.Name) + " " + clip(e.Arguments, 200) + "\n"
	case callevent.ToolApprovalRequested:
		return label(st.Tool, "tool") + st.Tool.Render(e.Name) + " waits for approval\n"
	case callevent.ToolApprovalDecided:
		if e.Approved {
			return indent + st.Tool.Render("✓ approved") + "\n"
		}
		return indent + st.Error.Render("✗ denied") + st.Dim.Render(": "+e.Reason) + "\n"
	case callevent.ToolResult:
		took := st.Dim.Render(" (" + ms(e.Duration) + ")")
		if e.Err != nil {
			return indent + st.Error.Render("↳ "+clip(e.Output, 200)) + took + "\n"
		}
		return indent + "↳ " + clip(e.Output, 200) + took + "\n"
	case callevent.MCPEvent:
		if debug {
			return indent + st.Dim.Render("mcp: "+mcpWords.Replace(e.Type)) + "\n"
		}
	case callevent.GuardrailTripped:
		return label(st.Error, "guard") + st.Error.Render(fmt.Sprintf("cut off (rule %q), heard %s", e.Rule, ms(time.Duration(e.HeardMs)*time.Millisecond))) + "\n"
	case callevent.AgentChanged:
		return st.System.Render(fmt.Sprintf("● handed to %s", e.To)) + "\n"
	case callevent.ModelError:
		text := strings.TrimSpace(e.Code + " " + e.Message)
		if e.ClientEvent != "" {
			text += " (refused: " + e.ClientEvent + ")"
		}
		return label(st.Error, "error") + st.Error.Render(text) + "\n"
	case callevent.Warning:
		return label(st.Error, "warn") + e.Message + "\n"
	case callevent.CallUsage:
		return indent + st.Dim.Render("· "+usageWords(e)) + "\n"
	case callevent.CallEnded:
		s := st.System.Render(fmt.Sprintf("● call ended after %s: %s", ms(e.Duration), endReasons[e.Reason]))
		if e.CostUSD != nil {
			s += st.System.Render(", cost " + pricing.FormatUSD(*e.CostUSD))
		}
		if e.Err != nil {
			s += st.Error.Render(": " + e.Err.Error())
		}
		return s + "\n"
	case callevent.HTTPRequest:
		if debug {
			return indent + st.Dim.Render(fmt.Sprintf("· %s %s → %d: %s (%s)", e.Method, e.Path, e.Status, e.Answer, ms(e.Duration))) + "\n"
		}
	case callevent.RawFrame:
		if !debug {
			return ""
		}
		dir := "→"
		if !e.Sent {
			dir = "←"
		}
		return indent + st.Dim.Render(fmt.Sprintf("%s %s %s %s", e.Source, dir, e.Type, clip(string(e.Data), 160))) + "\n"
	}
	return ""
}

var mcpWords = strings.NewReplacer("response.", "", "mcp_list_tools.", "listing tools ", "mcp_call.", "call ", "_", " ")

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// printer writes rendered events to a terminal. Live, the caller's and the agent's
// words appear as they are transcribed or generated; the line is finished when the
// transcript is final. Piped, only final lines are written, so
// `callagent simulate | tee call.txt` gives clean text. While more than one call is
// in progress every line names its call and words are not streamed (two calls'
// words would interleave).
type printer struct {
	w      io.Writer
	st     Styles
	live   bool
	held   bool           // a question is on screen below the lines: words are not streamed
	filter calllog.Filter // namespaces whose debug events are shown
	calls  map[string]bool
	mark   bool // every line names its call, however many are in progress (logs -f)
	width  int  // wrap final lines to this width with a hanging indent (logs on a terminal); 0: never

	open    string            // the item whose line is being streamed
	shown   strings.Builder   // what of it is on screen
	skipped map[string]bool   // items whose first words were not streamed: printed whole when final
	cut     map[string]string // agent items whose streamed line a barge-in ended, and what it showed
}

func newPrinter(w io.Writer, st Styles, live bool, filter calllog.Filter) *printer {
	return &printer{w: w, st: st, live: live, filter: filter, calls: map[string]bool{}, skipped: map[string]bool{}, cut: map[string]string{}}
}

func (p *printer) print(ev callevent.Event) {
	ev = sanitizeEvent(ev) // the one place where printed events are cleaned
	sid := ev.EventHeader().CallSID
	switch ev.(type) {
	case callevent.CallStarted:
		p.calls[sid] = true
	case callevent.CallEnded:
		defer func() {
			delete(p.calls, sid)
			if len(p.calls) == 0 {
				clear(p.skipped) // items that never got a final transcript
				clear(p.cut)
			}
		}()
	}
	prefix := ""
	if len(p.calls) > 1 || p.mark {
		prefix = callMark(p.st, sid)
	}
	switch e := ev.(type) {
	case callevent.AgentTranscriptDelta:
		// The agent's line takes over from a caller line still being transcribed.
		p.stream(e.ItemID, e.Delta, label(p.st.Agent, "agent"), prefix == "", true)
		return
	case callevent.CallerTranscriptDelta:
		// The caller's words are streamed only onto a free line: transcription
		// often runs alongside the agent's answer, whose line stays whole.
		p.stream(e.ItemID, e.Delta, label(p.st.Caller, "caller"), prefix == "", p.open == "")
		return
	case callevent.Interruption:
		p.cutOff(e)
	case callevent.AgentTranscript:
		if shown, ok := p.cut[e.ItemID]; ok {
			delete(p.cut, e.ItemID)
			if shown == strings.TrimSpace(e.Text) {
				return // on screen already, cut off
			}
		}
		if p.finish(e.ItemID, e.Text, e.Interrupted) {
			return
		}
	case callevent.CallerTranscript:
		if p.finish(e.ItemID, e.Text, false) {
			return
		}
	}
	line := renderClean(ev, p.st, p.filter.Enabled(callevent.Namespace(ev)))
	if line == "" {
		return
	}
	p.closeLine()
	fmt.Fprint(p.w, p.fit(prefix, line))
}

// stream shows a transcript delta of item on its own line, when the terminal is
// live, one call is in progress and the item's line can start (or is open).
func (p *printer) stream(item, delta, lbl string, oneCall, mayStart bool) {
	if !p.live || !oneCall || p.skipped[item] {
		return
	}
	if p.held {
		p.skipped[item] = true // printed whole when final
		return
	}
	if p.open != item {
		if !mayStart {
			p.skipped[item] = true
			return
		}
		p.closeLine()
		fmt.Fprint(p.w, lbl)
		p.open = item
		delta = strings.TrimLeft(delta, " ")
	}
	p.shown.WriteString(delta)
	fmt.Fprint(p.w, delta)
}

// finish ends the streamed line of item with its final text, and reports whether
// it did; an item not streamed is printed whole by the caller.
func (p *printer) finish(item, text string, interrupted bool) bool {
	delete(p.skipped, item)
	if p.open != item || item == "" {
		return false
	}
	final := strings.TrimSpace(text)
	shown := strings.TrimSpace(p.shown.String())
	rest, ok := strings.CutPrefix(final, shown)
	if !ok {
		// The final transcript is not what streamed (a corrected transcription):
		// the streamed words are left as a draft and the final line printed whole.
		p.closeLine()
		delete(p.skipped, item)
		return false
	}
	fmt.Fprint(p.w, rest)
	if interrupted {
		fmt.Fprint(p.w, " "+p.st.Dim.Render("(cut off)"))
	}
	fmt.Fprintln(p.w)
	p.open = ""
	p.shown.Reset()
	return true
}

// cutOff ends the streamed line of an agent item the caller barged in on, marked
// as cut off; its final transcript is not printed again unless it says more.
func (p *printer) cutOff(e callevent.Interruption) {
	if p.open == "" {
		return
	}
	for _, t := range e.Truncations {
		if t.ItemID == p.open {
			p.cut[p.open] = strings.TrimSpace(p.shown.String())
			fmt.Fprintln(p.w, " "+p.st.Dim.Render("(cut off)"))
			p.open = ""
			p.shown.Reset()
			return
		}
	}
}

// closeLine ends a streamed line that another event interrupts; its final
// transcript will then be printed whole.
func (p *printer) closeLine() {
	if p.open != "" {
		fmt.Fprintln(p.w, p.st.Dim.Render(" …"))
		p.skipped[p.open] = true
		p.open = ""
		p.shown.Reset()
	}
}

// callMark is the marker that starts a line of one of several calls.
func callMark(st Styles, sid string) string {
	return st.Dim.Render("["+shortSID(sid)+"]") + " "
}

// shortSID is the end of a call SID, enough to tell calls apart on screen.
func shortSID(sid string) string {
	if len(sid) > 6 {
		return "…" + sid[len(sid)-6:]
	}
	return sid
}

// usageWords says what a call has cost so far: "cost $0.1400 so far (3,900 tokens,
// gpt-realtime)", "cost $0.0754 so far (90s, gpt-live-1; 150 tokens, gpt-5.5)", or
// that the cost is unknown and which model has no price.
func usageWords(e callevent.CallUsage) string {
	tokens := pricing.Tokens(e.Tokens).Total() + pricing.Tokens(e.TranscriptionTokens).Total()
	what := fmt.Sprintf("%d tokens, %s", tokens, e.Model)
	if secs := e.Tokens.Seconds; secs > 0 && tokens == 0 {
		what = fmt.Sprintf("%gs, %s", secs, e.Model)
	}
	if e.BackendModel != "" {
		what += fmt.Sprintf("; %d tokens, %s", pricing.Tokens(e.BackendTokens).Total(), e.BackendModel)
	}
	if e.CostUSD == nil {
		return "cost unknown so far: no price for " + unpriced(e) + " (" + what + "; add it under pricing in callagent.yaml)"
	}
	s := "cost " + pricing.FormatUSD(*e.CostUSD) + " so far"
	if e.MaxCostUSD > 0 {
		s += " of max " + pricing.FormatUSD(e.MaxCostUSD)
	}
	return s + " (" + what + ")"
}

// unpriced names the models of a usage whose cost is unknown: the ones the
// default prices do not know (a price from callagent.yaml is not known here),
// else the voice model.
func unpriced(e callevent.CallUsage) string {
	var names []string
	for _, m := range []string{e.Model, e.TranscriptionModel, e.BackendModel} {
		if _, ok := pricing.Defaults().Lookup(m); m != "" && !ok {
			names = append(names, m)
		}
	}
	if len(names) == 0 {
		return e.Model
	}
	return strings.Join(names, ", ")
}
