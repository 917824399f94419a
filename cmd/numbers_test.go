package cmd

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/callagent/callagent/pkg/twiliorest/twiliorestest"
)

// A number's friendly name and voice URL come from Twilio's API, and anyone with
// console access can set them: `numbers` prints them without terminal escapes.
func TestNumbersSanitizesWhatTwilioSays(t *testing.T) {
	const hostile = "\x1b]0;pwned\x07\x1b[2J\u009b2J\u202eSupport line"
	api := &twiliorestest.API{AccountSID: devAccount, AuthToken: devToken}
	api.AddNumber(twiliorestest.PhoneNumber{SID: "PN9", PhoneNumber: "+14155550177", FriendlyName: hostile,
		VoiceURL: "https://example.com/voice\x1b[31m", VoiceMethod: "POST"})
	srv := httptest.NewServer(api)
	defer srv.Close()
	env := map[string]string{"TWILIO_ACCOUNT_SID": devAccount, "TWILIO_AUTH_TOKEN": devToken,
		"CALLAGENT_TWILIO_API_URL": srv.URL, "CALLAGENT_STATE_DIR": t.TempDir()}
	// --json too: encoding/json escapes ESC but leaves C1 and bidi characters raw.
	for _, args := range [][]string{{"numbers"}, {"numbers", "--json"}} {
		var out, errOut bytes.Buffer
		f := &Factory{
			IO:    &IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
			Env:   &Env{Getenv: func(k string) string { return env[k] }, Path: "/nonexistent/.env"},
			Now:   time.Now,
			Build: BuildInfo{Version: "1.2.3"},
		}
		root := NewRootCmd(f)
		root.SetArgs(args)
		if err := root.ExecuteContext(context.Background()); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errOut.String())
		}
		got := out.String() + errOut.String()
		if !strings.Contains(got, "Support line") || !strings.Contains(got, "+14155550177") {
			t.Fatalf("%v: the number is not listed:\n%s", args, got)
		}
		checkNoControls(t, strings.Join(args, " "), got)
	}
}
