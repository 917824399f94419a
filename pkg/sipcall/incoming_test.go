package sipcall

import (
	"errors"
	"testing"
	"time"
)

// The realtime-sip guide's example event (ids shortened).
const realtimeIncoming = `{
  "object": "event",
  "id": "evt_685343a1381c819085d44c354e1b330e",
  "type": "realtime.call.incoming",
  "created_at": 1750287018,
  "data": {
    "call_id": "rtc_u7_DfK6YZPcgSGPcQc7P3l28",
    "sip_headers": [
      {"name": "From", "value": "sip:+142555512112@sip.example.com"},
      {"name": "To", "value": "sip:+18005551212@sip.example.com"},
      {"name": "Call-ID", "value": "03782086-4ce9-44bf-8b0d-4e303d2cc590"}
    ]
  }
}`

// The voice-sip guide's example (GPT-Live).
const liveIncoming = `{
  "object": "event",
  "id": "evt_abc123",
  "type": "live.transport.incoming",
  "created_at": 1750287018,
  "data": {
    "type": "sip",
    "session_id": "live_123",
    "sip_headers": [
      {"name": "from", "value": "sip:+14155550123@sip.example.com"},
      {"name": "To", "value": "sip:+18005550100@sip.example.com"},
      {"name": "Call-ID", "value": "call-123@example.com"}
    ],
    "sip_media_security": "srtp"
  }
}`

func TestParseIncoming(t *testing.T) {
	in, err := ParseIncoming([]byte(realtimeIncoming))
	if err != nil {
		t.Fatal(err)
	}
	if in.Engine != EngineRealtime || in.ID != "rtc_u7_DfK6YZPcgSGPcQc7P3l28" || in.EventID != "evt_685343a1381c819085d44c354e1b330e" ||
		in.From != "sip:+142555512112@sip.example.com" || in.To != "sip:+18005551212@sip.example.com" ||
		!in.CreatedAt.Equal(time.Unix(1750287018, 0)) || len(in.Headers) != 3 || in.Type != TypeRealtimeCallIncoming {
		t.Fatalf("realtime: %+v", in)
	}
	in, err = ParseIncoming([]byte(liveIncoming))
	if err != nil {
		t.Fatal(err)
	}
	if in.Engine != EngineLive || in.ID != "live_123" || in.From != "sip:+14155550123@sip.example.com" || in.MediaSecurity != "srtp" {
		t.Fatalf("live: %+v", in)
	}
	// The deprecated event has no data.type.
	in, err = ParseIncoming([]byte(`{"id":"evt_1","type":"live.call.incoming","created_at":1,"data":{"session_id":"live_9","sip_headers":[]}}`))
	if err != nil || in.Engine != EngineLive || in.ID != "live_9" || in.Type != TypeLiveCallIncoming {
		t.Fatalf("live.call.incoming: %+v, %v", in, err)
	}
}

func TestParseIncomingRefuses(t *testing.T) {
	cases := []struct {
		name, body string
		want       error
	}{
		{"another event", `{"id":"evt_1","object":"event","type":"batch.completed","created_at":1,"data":{"id":"batch_1"}}`, ErrNotIncoming},
		{"live webrtc", `{"id":"evt_1","object":"event","type":"live.transport.incoming","created_at":1,"data":{"type":"webrtc","session_id":"live_1"}}`, ErrNotIncoming},
		{"not json", `<xml/>`, ErrMalformed},
		{"two documents", realtimeIncoming + `{}`, ErrMalformed},
		{"no type", `{"id":"evt_1","created_at":1,"data":{}}`, ErrMalformed},
		{"no call id", `{"id":"evt_1","type":"realtime.call.incoming","created_at":1,"data":{"sip_headers":[]}}`, ErrMalformed},
		{"session id on realtime", `{"id":"evt_1","type":"realtime.call.incoming","created_at":1,"data":{"session_id":"live_1"}}`, ErrMalformed},
		{"call id with a slash", `{"id":"evt_1","type":"realtime.call.incoming","created_at":1,"data":{"call_id":"rtc_1/../x"}}`, ErrMalformed},
		{"call id dot dot", `{"id":"evt_1","type":"realtime.call.incoming","created_at":1,"data":{"call_id":".."}}`, ErrMalformed},
		{"no event id", `{"type":"realtime.call.incoming","created_at":1,"data":{"call_id":"rtc_1"}}`, ErrMalformed},
		{"no created_at", `{"id":"evt_1","type":"realtime.call.incoming","data":{"call_id":"rtc_1"}}`, ErrMalformed},
		{"wrong object", `{"id":"evt_1","object":"list","type":"realtime.call.incoming","created_at":1,"data":{"call_id":"rtc_1"}}`, ErrMalformed},
		{"headers not a list", `{"id":"evt_1","type":"realtime.call.incoming","created_at":1,"data":{"call_id":"rtc_1","sip_headers":{}}}`, ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseIncoming([]byte(tc.body)); !errors.Is(err, tc.want) {
				t.Fatalf("ParseIncoming = %v, want %v", err, tc.want)
			}
		})
	}
}

// FuzzParseIncoming: never panics; what it accepts has an engine, an id safe in a
// URL path and an event id.
func FuzzParseIncoming(f *testing.F) {
	f.Add([]byte(realtimeIncoming))
	f.Add([]byte(liveIncoming))
	f.Add([]byte(`{"id":"evt_1","type":"live.call.incoming","created_at":1,"data":{"session_id":"live_9"}}`))
	f.Add([]byte(`{"type":"realtime.call.incoming","data":{"call_id":"%2e%2e"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := ParseIncoming(body)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNotIncoming) {
				t.Fatalf("error wraps neither sentinel: %v", err)
			}
			return
		}
		if in.Engine != EngineRealtime && in.Engine != EngineLive || in.EventID == "" {
			t.Fatalf("accepted %+v", in)
		}
		if err := checkID(in.ID); err != nil {
			t.Fatalf("accepted id %q: %v", in.ID, err)
		}
		if _, err := route(in.Engine, in.ID, "accept"); err != nil {
			t.Fatal(err)
		}
	})
}
