package agent

import "testing"

func TestReferTarget(t *testing.T) {
	for in, want := range map[string]string{
		"+14155550199":              "tel:+14155550199",
		"tel:+14155550199":          "tel:+14155550199",
		"sip:desk@pbx.example.com":  "sip:desk@pbx.example.com",
		"sips:desk@pbx.example.com": "sips:desk@pbx.example.com",
	} {
		if got := ReferTarget(in); got != want {
			t.Errorf("ReferTarget(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSIPNotesOnlyOverSIP(t *testing.T) {
	c := &Config{AudioFormat: "pcmu"}
	if n := c.SIPNotes(); n != nil {
		t.Fatalf("notes over Media Streams: %v", n)
	}
	c.Transport = TransportSIP
	if n := c.SIPNotes(); len(n) != 2 {
		t.Fatalf("notes over SIP: %v", n)
	}
}
