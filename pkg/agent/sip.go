package agent

import (
	"context"

	"github.com/callagent/callagent/pkg/session"
	"github.com/callagent/callagent/pkg/sipcall"
)

// Transports (Config.Transport).
const (
	TransportMediaStreams = "media_streams"
	TransportSIP          = "sip"
)

// SIP reports whether calls come over SIP (transport: sip): OpenAI answers the
// phone and callagent is the control plane.
func (c *Config) SIP() bool { return c.Transport == TransportSIP }

// Referrer transfers a SIP call by its OpenAI call id with a SIP REFER to
// targetURI (tel:+14155550123 or a sip: URI). A CallController that is one makes
// the transfer built-in refer the call instead of redirecting it with TwiML.
type Referrer interface {
	Refer(ctx context.Context, callID, targetURI string) error
}

// ReferTarget is the REFER target of a transfer number: tel:NUMBER for an E.164
// number, a sip: or tel: URI as it is.
func ReferTarget(number string) string {
	if sipcall.IsReferTarget(number) {
		return number
	}
	return "tel:" + number
}

// SIPNotes says which options of the configuration have no effect over SIP, or
// work differently: config validate prints them, dev and serve log them.
func (c *Config) SIPNotes() []string {
	if !c.SIP() {
		return nil
	}
	notes := []string{
		"transport sip: OpenAI answers the phone and plays the audio; callagent never has it, so calls are not recorded " +
			"(dev's recordings, serve's --record-dir) and the inspector has no audio of them",
	}
	if LiveModel(c.Model) {
		notes = append(notes, "GPT-Live over SIP: barge-in is OpenAI's (callagent detects no speech and truncates nothing), and the voice "+
			"and the first agent's instructions are fixed when the call is accepted (a handoff appends the new agent's instructions, as on Media Streams)")
	}
	if c.AudioFormat != "" {
		notes = append(notes, "audio_format has no effect over SIP: the trunk and OpenAI negotiate the codec")
	}
	for _, t := range c.Tools {
		if t.Transfer != nil && t.Transfer.Announcement != "" {
			notes = append(notes, "tools["+t.Name+"].transfer.announcement has no effect over SIP: callagent cannot play audio of its own "+
				"(the transfer is a SIP REFER); have the agent say it before transferring")
		}
	}
	return notes
}

// endingByRequest tells a SIP call that the hang-up or transfer about to be
// requested will close its sideband (on), or failed (off) (session.Session.EndingByRequest): the call
// then ends with the tool's reason, not as the caller's hang-up.
func endingByRequest(call session.Call, on bool) {
	if e, ok := call.(interface{ EndingByRequest(bool) }); ok {
		e.EndingByRequest(on)
	}
}
