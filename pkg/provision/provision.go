// Package provision points a Twilio phone number at callagent and puts it back:
// find the number, save how it is configured before changing anything, point its
// voice webhook at PUBLIC/incoming-call, and restore it exactly on exit, or on the
// next start after a crash (the saved state stays on disk until the number is back).
//
// It speaks Twilio's REST API through a *twiliorest.Client (whose errors it wraps:
// errors.As reaches the *twiliorest.Error). It does not serve calls or open tunnels.
package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/callagent/callagent/internal/atomicfile"
	"github.com/callagent/callagent/pkg/twiliorest"
)

// Options configure a Provisioner.
type Options struct {
	// StateDir holds the saved configurations (default: the XDG state directory).
	StateDir string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Provisioner configures phone numbers.
type Provisioner struct {
	api      *twiliorest.Client
	account  string
	stateDir string
	now      func() time.Time
}

// New returns a Provisioner that changes the numbers of api's account.
func New(api *twiliorest.Client, opts Options) (*Provisioner, error) {
	dir := opts.StateDir
	if dir == "" {
		var err error
		if dir, err = DefaultStateDir(); err != nil {
			return nil, err
		}
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Provisioner{api: api, account: api.AccountSID(), stateDir: filepath.Join(dir, "numbers"), now: now}, nil
}

// DefaultStateDir is $CALLAGENT_STATE_DIR, or $XDG_STATE_HOME/callagent, or
// ~/.local/state/callagent.
func DefaultStateDir() (string, error) { return StateDir(os.Getenv) }

// StateDir is DefaultStateDir with the variables read through getenv.
func StateDir(getenv func(string) string) (string, error) {
	if d := getenv("CALLAGENT_STATE_DIR"); d != "" {
		return d, nil
	}
	if d := getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "callagent"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no state directory: set CALLAGENT_STATE_DIR (%w)", err)
	}
	return filepath.Join(home, ".local", "state", "callagent"), nil
}

// Number is a phone number and where its calls go, as the state file keeps it. It
// has twiliorest.Number's fields, so each converts to the other; the JSON names
// are the state file's and do not change with the REST API.
type Number struct {
	SID                 string `json:"sid"`
	PhoneNumber         string `json:"phone_number"`
	FriendlyName        string `json:"friendly_name,omitempty"`
	VoiceURL            string `json:"voice_url"`
	VoiceMethod         string `json:"voice_method"`
	VoiceFallbackURL    string `json:"voice_fallback_url"`
	VoiceFallbackMethod string `json:"voice_fallback_method"`
	VoiceApplicationSID string `json:"voice_application_sid"`
	TrunkSID            string `json:"trunk_sid,omitempty"`
}

// Destination says in words where the number's calls go.
func (n Number) Destination() string {
	switch {
	case n.TrunkSID != "":
		return "SIP trunk " + n.TrunkSID
	case n.VoiceApplicationSID != "":
		return "TwiML App " + n.VoiceApplicationSID
	case n.VoiceURL != "":
		return n.VoiceMethod + " " + n.VoiceURL
	}
	return "nowhere (no voice URL)"
}

// Pointable says why Point would refuse n (ErrBound), or nil: a number on a SIP
// trunk never uses its voice URL; one bound to a TwiML App does so only once the
// app is unbound (takeOver).
func (n Number) Pointable(takeOver bool) error {
	switch {
	case n.TrunkSID != "":
		return fmt.Errorf("%w: %s belongs to SIP trunk %s, which receives its calls, so a voice URL would not be used: "+
			"use another number, or remove it from the trunk in the Twilio console", ErrBound, n.PhoneNumber, n.TrunkSID)
	case n.VoiceApplicationSID != "" && !takeOver:
		return fmt.Errorf("%w: %s sends its calls to TwiML App %s, so a voice URL would not be used: "+
			"pass --take-over to unbind the app while callagent runs (it is bound again on exit), or use another number",
			ErrBound, n.PhoneNumber, n.VoiceApplicationSID)
	}
	return nil
}

// List returns the account's phone numbers.
func (p *Provisioner) List(ctx context.Context) ([]Number, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	list, err := p.api.ListNumbers(ctx)
	if err != nil {
		return nil, fmt.Errorf("list phone numbers: %w", err)
	}
	out := make([]Number, len(list))
	for i, n := range list {
		out[i] = Number(n)
	}
	return out, nil
}

// Find returns the number e164, or the account's only number when e164 is empty.
func (p *Provisioner) Find(ctx context.Context, e164 string) (Number, error) {
	all, err := p.List(ctx)
	if err != nil {
		return Number{}, err
	}
	var have []string
	for _, n := range all {
		if e164 == "" && len(all) == 1 || n.PhoneNumber == e164 {
			return n, nil
		}
		have = append(have, n.PhoneNumber)
	}
	switch {
	case len(all) == 0:
		return Number{}, errors.New("the Twilio account has no phone numbers: buy one in the Twilio console (Phone Numbers › Buy a number)")
	case e164 == "":
		return Number{}, &SeveralNumbersError{Numbers: have}
	}
	return Number{}, fmt.Errorf("%s is not a number of this account: it has %s", e164, strings.Join(have, ", "))
}

// ErrBound is returned by Point for a number whose calls go to a TwiML App or a SIP
// trunk, where a voice URL has no effect.
var ErrBound = errors.New("the number is bound elsewhere")

// SeveralNumbersError is Find's answer, with no number asked for, on an account
// with several: the caller says which flag chooses.
type SeveralNumbersError struct{ Numbers []string }

func (e *SeveralNumbersError) Error() string {
	return fmt.Sprintf("the account has %d numbers (%s)", len(e.Numbers), strings.Join(e.Numbers, ", "))
}

// ErrInUse is returned by Point for a number another running callagent has pointed.
var ErrInUse = errors.New("the number is in use")

// saved is the state file: how a number was configured before callagent pointed it.
type saved struct {
	Number    Number    `json:"number"`
	AccountID string    `json:"account_sid"`
	PointedTo string    `json:"pointed_to"`
	PID       int       `json:"pid"`
	ProcStart string    `json:"proc_start,omitempty"` // processStart of PID, where known
	SavedAt   time.Time `json:"saved_at"`
}

// Point saves n's configuration to the state directory, then points its voice
// webhook at webhookURL (POST). takeOver allows it to unbind a TwiML App for the
// session (restored with the rest). On error the number is as it was.
func (p *Provisioner) Point(ctx context.Context, n Number, webhookURL string, takeOver bool) error {
	if err := n.Pointable(takeOver); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	prev, err := p.load(n.SID)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		// A damaged state may be all that is left of the original configuration.
		return fmt.Errorf("%s: %w: repair or remove it, then start again", n.PhoneNumber, err)
	default:
		// Saving now would overwrite the original configuration with callagent's own.
		if !prev.mine() && prev.held() {
			return fmt.Errorf("%w: %s is already pointed at %s by another callagent (pid %d): stop it first, or use another number",
				ErrInUse, n.PhoneNumber, prev.PointedTo, prev.PID)
		}
		return fmt.Errorf("%s has a saved configuration that was not restored yet (%s): restore it first (callagent restores it on start)",
			n.PhoneNumber, p.path(n.SID))
	}
	st := saved{Number: n, AccountID: p.account, PointedTo: webhookURL, PID: os.Getpid(), ProcStart: selfStart, SavedAt: p.now()}
	if err := p.save(st); err != nil {
		return fmt.Errorf("save %s's configuration before changing it: %w", n.PhoneNumber, err)
	}
	update := twiliorest.VoiceUpdate{URL: new(webhookURL), Method: new(http.MethodPost)}
	if n.VoiceApplicationSID != "" {
		update.ApplicationSID = new("")
	}
	// Once the state is saved the update is sent: a context ended now would leave a
	// saved state for a number never changed.
	if _, err := p.api.UpdateNumber(context.WithoutCancel(ctx), n.SID, update); err != nil {
		return p.pointFailed(ctx, st, err)
	}
	return nil
}

// pointFailed settles an update Twilio answered with an error. A refusal (4xx)
// changed nothing. After a timeout, a lost connection or a 5xx the change may have
// been made: the number is looked at and put back if so; when that cannot be
// known, the saved configuration is kept for the next start to restore.
func (p *Provisioner) pointFailed(ctx context.Context, st saved, err error) error {
	n, to := st.Number.PhoneNumber, st.PointedTo
	if code := status(err); code >= 400 && code < 500 {
		_ = p.forget(st.Number.SID)
		return fmt.Errorf("point %s at %s: %w (the number was not changed)", n, to, err)
	}
	r, rerr := p.restore(ctx, st)
	switch {
	case rerr != nil:
		return fmt.Errorf("point %s at %s: %w; Twilio may have made the change, and looking failed: %w", n, to, err, rerr)
	case r.Skipped != "":
		return fmt.Errorf("point %s at %s: %w (the number was not changed)", n, to, err)
	}
	return fmt.Errorf("point %s at %s: %w (Twilio had made the change after all: the number is put back)", n, to, err)
}

// status is the HTTP status Twilio answered with, or 0.
func status(err error) int {
	var re *twiliorest.Error
	if errors.As(err, &re) {
		return re.Status
	}
	return 0
}

// Restored reports a number put back.
type Restored struct {
	Number Number
	// Skipped is set when the number was not restored because someone changed it
	// while callagent ran: callagent leaves it alone.
	Skipped string
}

// Restore puts n back as it was saved, unless it no longer points where callagent
// pointed it. The saved state is removed only once the number is back.
func (p *Provisioner) Restore(ctx context.Context, sid string) (Restored, error) {
	st, err := p.load(sid)
	if err != nil {
		return Restored{}, err
	}
	return p.restore(ctx, st)
}

func (p *Provisioner) restore(ctx context.Context, st saved) (Restored, error) {
	if err := ctx.Err(); err != nil {
		return Restored{}, err
	}
	// Checked once: a restore that has begun is not left between its look and its
	// update (twilio-go cannot cancel a request in flight anyway).
	ctx = context.WithoutCancel(ctx)
	n := st.Number
	cur, err := p.api.FetchNumber(ctx, n.SID)
	if err != nil {
		if status(err) == http.StatusNotFound {
			_ = p.forget(n.SID)
			return Restored{Number: n, Skipped: "the number is no longer in the account"}, nil
		}
		return Restored{Number: n}, fmt.Errorf("check %s before restoring it: %w (its saved configuration is kept; it will be restored on the next start)",
			n.PhoneNumber, err)
	}
	if cur.VoiceURL != st.PointedTo {
		_ = p.forget(n.SID)
		return Restored{Number: n, Skipped: fmt.Sprintf("it was changed meanwhile (voice URL %q): left as it is", cur.VoiceURL)}, nil
	}
	update := twiliorest.VoiceUpdate{URL: new(n.VoiceURL), Method: new(orDefault(n.VoiceMethod, http.MethodPost)),
		FallbackURL: new(n.VoiceFallbackURL), ApplicationSID: new(n.VoiceApplicationSID)}
	if n.VoiceFallbackMethod != "" { // callagent never changes it; sending it only risks changing it
		update.FallbackMethod = new(n.VoiceFallbackMethod)
	}
	if _, err := p.api.UpdateNumber(ctx, n.SID, update); err != nil {
		return Restored{Number: n}, fmt.Errorf("restore %s: %w (its saved configuration is kept; it will be restored on the next start)",
			n.PhoneNumber, err)
	}
	if err := p.forget(n.SID); err != nil {
		return Restored{Number: n}, fmt.Errorf("%s is restored, but its saved state could not be removed: %w", n.PhoneNumber, err)
	}
	return Restored{Number: n}, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Pending returns the numbers whose configuration is saved but not restored: left
// behind by a session that crashed or was killed. Another running session's numbers
// (its process is alive) are not included.
func (p *Provisioner) Pending() ([]Number, error) {
	states, err := p.states()
	if err != nil {
		return nil, err
	}
	var out []Number
	for _, st := range states {
		if !st.held() {
			out = append(out, st.Number)
		}
	}
	return out, nil
}

// Session is a number a running callagent has pointed at itself.
type Session struct {
	Number  Number
	Webhook string // where the number points now (PUBLIC/incoming-call)
	PID     int
	Since   time.Time
}

// Sessions returns the numbers running callagent processes (this one included)
// have pointed at themselves.
func (p *Provisioner) Sessions() ([]Session, error) {
	states, err := p.states()
	if err != nil {
		return nil, err
	}
	var out []Session
	for _, st := range states {
		if st.held() {
			out = append(out, Session{Number: st.Number, Webhook: st.PointedTo, PID: st.PID, Since: st.SavedAt})
		}
	}
	return out, nil
}

// RecoverCrashed restores every number a crashed session left pointed at callagent.
func (p *Provisioner) RecoverCrashed(ctx context.Context) ([]Restored, error) {
	pending, err := p.Pending()
	if err != nil {
		return nil, err
	}
	var out []Restored
	var errs []error
	for _, n := range pending {
		r, err := p.Restore(ctx, n.SID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

func (p *Provisioner) path(sid string) string {
	return filepath.Join(p.stateDir, filepath.Base(sid)+".json")
}

// save writes the state atomically: a crash leaves the old file or the new one.
func (p *Provisioner) save(st saved) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(p.path(st.Number.SID), 0o700, data)
}

func (p *Provisioner) load(sid string) (saved, error) {
	var st saved
	data, err := os.ReadFile(p.path(sid))
	if err != nil {
		return st, fmt.Errorf("no saved configuration for %s: %w", sid, err)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return st, fmt.Errorf("saved configuration %s is damaged: %w", p.path(sid), err)
	}
	return st, nil
}

func (p *Provisioner) forget(sid string) error {
	err := os.Remove(p.path(sid))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

func (p *Provisioner) states() ([]saved, error) {
	entries, err := os.ReadDir(p.stateDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []saved
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".json") || strings.HasPrefix(name, ".") {
			continue
		}
		st, err := p.load(strings.TrimSuffix(name, ".json"))
		if err != nil {
			return nil, err
		}
		if st.AccountID == p.account {
			out = append(out, st)
		}
	}
	slices.SortFunc(out, func(a, b saved) int { return strings.Compare(a.Number.PhoneNumber, b.Number.PhoneNumber) })
	return out, nil
}

// Call places an outbound call from one of the account's numbers to a phone, whose
// answer runs the TwiML at webhookURL (callagent's /incoming-call).
func (p *Provisioner) Call(ctx context.Context, from, to, webhookURL string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	sid, err := p.api.CreateCall(ctx, from, to, webhookURL)
	if err != nil {
		return "", fmt.Errorf("call %s: %w", to, err)
	}
	return sid, nil
}
