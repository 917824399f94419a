package session

import (
	"strings"
	"time"

	"github.com/callagent/callagent/pkg/callevent"
	"github.com/callagent/callagent/pkg/realtime"
)

// queueDigit hands a key press to the DTMF collector, starting it at the first one;
// false when too many wait (the caller pump's only goroutine may call it).
func (s *Session) queueDigit(d string) bool {
	s.dtmfOnce.Do(func() {
		s.dtmfc = make(chan string, 64)
		s.dtmfDone.Go(s.dtmfLoop)
	})
	select {
	case s.dtmfc <- d:
		return true
	default:
		return false
	}
}

// dtmfLoop collects key presses and delivers them to the model as one short text
// message after DTMFDebounce of quiet, or at once on '#'.
func (s *Session) dtmfLoop() {
	var digits []string
	var quiet <-chan time.Time
	flush := func() {
		if len(digits) > 0 {
			s.deliverDigits(strings.Join(digits, " "))
			digits = digits[:0]
		}
		quiet = nil
	}
	for {
		select {
		case <-s.workCtx.Done():
			return
		case d := <-s.dtmfc:
			digits = append(digits, d)
			if d == "#" || s.opts.DTMFDebounce < 0 {
				flush()
			} else {
				quiet = time.After(s.opts.DTMFDebounce)
			}
		case <-quiet:
			flush()
		}
	}
}

func (s *Session) deliverDigits(digits string) {
	if !s.ready.Load() && s.input.pushDigits(digits) {
		return
	}
	if err := s.sendDigits(digits); err != nil {
		s.end(callevent.EndModelDisconnected, err)
	}
}

func (s *Session) sendDigits(digits string) error {
	err := s.model.Send(s.ioCtx, &realtime.ConversationItemCreate{Item: realtime.Item{
		Type: realtime.ItemMessage, Role: "user",
		Content: []realtime.ContentPart{{Type: "input_text", Text: "[The caller pressed " + digits + " on the phone keypad.]"}},
	}})
	if err != nil {
		return err
	}
	return s.requestResponse()
}
