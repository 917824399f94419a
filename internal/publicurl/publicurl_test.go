package publicurl

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{in: "https://agent.example.com", want: "https://agent.example.com"},
		{in: "https://agent.example.com/", want: "https://agent.example.com"},
		{in: "http://127.0.0.1:5050", err: "Twilio streams calls only to wss:// URLs"},
		{in: "http://agent.example.com", err: "Twilio streams calls only to wss:// URLs"},
		{in: "https://example.com/callagent/", want: "https://example.com/callagent"},
		{in: "HTTPS://agent.example.com", want: "https://agent.example.com"},
		{in: " https://x", err: `public URL " https://x": remove the spaces around it`},
		{in: "https://x ", err: `public URL "https://x ": remove the spaces around it`},
		{in: "https://x\n", err: "remove the spaces around it"},
		{in: "", err: Example},
		{in: "agent.example.com", err: `public URL "agent.example.com": want an absolute https URL`},
		{in: "ftp://agent.example.com", err: Example},
		{in: "wss://agent.example.com", err: Example},
		{in: "https://", err: Example},
		{in: "https://:443", err: Example},
		{in: "https:agent.example.com", err: Example},
		{in: "https://agent.example.com:port", err: Example},
		{in: "https://a b.example.com", err: Example},
		{in: "ftp://user:hunter2@agent.example.com", err: Example},
		{in: "https://user:hunter2@agent.example.com", err: "remove the user info"},
		{in: "https://agent.example.com?x=1", err: "remove the query and fragment"},
		{in: "https://agent.example.com?", err: "remove the query and fragment"},
		{in: "https://agent.example.com/#top", err: "remove the query and fragment"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if tt.err == "" {
			if err != nil || got != tt.want {
				t.Errorf("%q: got %q, %v; want %q", tt.in, got, err, tt.want)
			}
			continue
		}
		var pe *Error
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%q: err = %v, want an *Error with %q", tt.in, err, tt.err)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%q: the error shows the password: %v", tt.in, err)
		}
	}
}

// http is refused unless asked for, and then only http: every other rule holds.
func TestParseInsecureHTTP(t *testing.T) {
	if got, err := ParseInsecureHTTP("http://127.0.0.1:5050/"); err != nil || got != "http://127.0.0.1:5050" {
		t.Errorf("got %q, %v", got, err)
	}
	if got, err := ParseInsecureHTTP("https://agent.example.com"); err != nil || got != "https://agent.example.com" {
		t.Errorf("got %q, %v", got, err)
	}
	var pe *Error
	if _, err := Parse("http://127.0.0.1:5050"); !errors.As(err, &pe) || !pe.HTTP {
		t.Errorf("Parse(http) = %v, want an *Error with HTTP set", err)
	}
	for _, in := range []string{"http://u:hunter2@127.0.0.1", "http://127.0.0.1?x=1", "ws://127.0.0.1", " http://127.0.0.1"} {
		if _, err := ParseInsecureHTTP(in); !errors.As(err, &pe) || pe.HTTP || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseInsecureHTTP(%q) = %v", in, err)
		}
	}
}
