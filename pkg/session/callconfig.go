package session

import (
	"encoding/json"
	"slices"

	"github.com/callagent/callagent/pkg/callevent"
)

// callConfig is the CallConfig event of agent a: a.Config's description,
// completed with what the session runs (the voice kept, the model, the limits;
// the greeting at the call's start only), and its hash.
func (s *Session) callConfig(a *Agent, start bool) callevent.CallConfig {
	var ev callevent.CallConfig
	if a.Config != nil {
		ev = *a.Config
		ev.Tools = slices.Clone(a.Config.Tools)
	} else {
		for _, t := range a.Tools {
			sp := t.Spec()
			ev.Tools = append(ev.Tools, callevent.ConfigTool{Name: sp.Name, Kind: "function", Description: sp.Description,
				NeedsApproval: sp.NeedsApproval, Background: sp.Background})
		}
		for _, t := range a.HostedTools {
			ev.Tools = append(ev.Tools, callevent.ConfigTool{Name: orElse(t.Name, t.ServerLabel), Kind: t.Type,
				Description: t.ServerDescription, URL: callevent.ConfigURL(t.ServerURL), Headers: callevent.HeaderNames(t.Headers)})
		}
	}
	ev.Header = s.hdr()
	ev.Hash = ""
	ev.Agent, ev.Voice, ev.Instructions = a.Name, a.Voice, a.Instructions
	if s.opts.Model != "" {
		ev.Model = s.opts.Model
	}
	ev.TurnDetection = nil
	if a.TurnDetection != nil {
		ev.TurnDetection, _ = json.Marshal(a.TurnDetection) // numbers and names: always encodes
	}
	ev.Transcription = ""
	if a.Transcription != nil {
		ev.Transcription = orElse(a.Transcription.Model, "on")
	}
	ev.Greeting = ""
	if start {
		ev.Greeting = s.opts.Greeting
	}
	ev.MaxDuration, ev.MaxCostUSD = s.opts.MaxDuration, s.opts.MaxCost
	ev.Hash = ev.Digest()
	return ev
}

func orElse(s, or string) string {
	if s != "" {
		return s
	}
	return or
}
