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
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
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
	id       string // marks the voice URLs this Provisioner sets (Mark)

	mu    sync.Mutex
	locks map[string]*os.File // number SID → its lock file, held while this process owns the number
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
	var id [6]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	return &Provisioner{api: api, account: api.AccountSID(), stateDir: filepath.Join(dir, "numbers"), now: now,
		id: hex.EncodeToString(id[:]), locks: map[string]*os.File{}}, nil
}

// DevParam is the query parameter callagent dev adds to the voice URL it sets
// (PUBLIC/incoming-call?callagent_dev=ID): any callagent, on any machine, can tell
// from the number alone that a dev holds it, and which one. Twilio keeps the query
// in the voice URL and signs the whole URL, so the server checks it unchanged.
const DevParam = "callagent_dev"

// Mark returns webhookURL with this Provisioner's DevParam.
func (p *Provisioner) Mark(webhookURL string) string {
	u, err := url.Parse(webhookURL)
	if err != nil {
		return webhookURL
	}
	q := u.Query()
	q.Set(DevParam, p.id)
	u.RawQuery = q.Encode()
	return u.String()
}

// DevOf says whether voiceURL is where a callagent dev pointed a number: its
// DevParam (id is the dev's), or, for devs older than the mark, callagent's path on
// an ngrok host (id "").
func DevOf(voiceURL string) (id string, ok bool) {
	u, err := url.Parse(voiceURL)
	if err != nil || u.Host == "" {
		return "", false
	}
	if id := u.Query().Get(DevParam); id != "" {
		return id, true
	}
	if u.Path != "/incoming-call" {
		return "", false
	}
	host := strings.ToLower(u.Hostname())
	for _, d := range []string{".ngrok.app", ".ngrok.dev", ".ngrok.io", ".ngrok-free.app", ".ngrok-free.dev", ".ngrok.pizza"} {
		if strings.HasSuffix(host, d) {
			return "", true
		}
	}
	return "", false
}

// ErrOtherDev is returned by Point for a number another callagent dev (another
// machine, or another state directory) has pointed at itself, unless the options
// take it over.
var ErrOtherDev = errors.New("the number is pointed at another callagent dev")

// OtherDev says why Point would refuse n because another callagent dev holds it
// (ErrOtherDev), or nil. What that dev saved of n's settings is on its machine;
// here only the current voice URL is known.
func (p *Provisioner) OtherDev(n Number, opts PointOptions) error {
	id, ok := DevOf(n.VoiceURL)
	if !ok || id == p.id || opts.TakeOverDev {
		return nil
	}
	if st, err := p.load(n.SID); err == nil && st.PointedTo == n.VoiceURL {
		return nil // a dev of this state directory: Point says what to do with its saved state
	}
	return fmt.Errorf("%w: %s goes to %s, set by a callagent dev on another machine or with another state directory; "+
		"the settings it saved before are there, not here. Stop that dev (it puts the number back), or pass --take-over: "+
		"on exit the number then goes back to that URL, for that dev to restore, unless you give the original with "+
		"--restore-url URL (and --restore-method)", ErrOtherDev, n.PhoneNumber, n.Destination())
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
	// TookOverFrom is the voice URL of the other callagent dev the number was taken
	// from; Number then holds that URL (the other dev restores from it), or the
	// one given with PointOptions.RestoreURL.
	TookOverFrom string `json:"took_over_from,omitempty"`
	// SIP is set for a number PointSIP put on callagent's SIP trunk (sip.go).
	SIP *sipSaved `json:"sip,omitempty"`
}

// PointOptions say what Point may take over.
type PointOptions struct {
	// TakeOver unbinds a TwiML App while callagent runs (bound again on restore).
	TakeOver bool
	// TakeOverDev points a number another callagent dev holds (OtherDev): its
	// voice URL is saved as the original, unless RestoreURL is given.
	TakeOverDev bool
	// RestoreURL and RestoreMethod (default POST), when set, are saved as the
	// number's original voice URL instead of the one it has now.
	RestoreURL, RestoreMethod string
}

// ErrMaybeChanged is returned by Point when Twilio did not say whether the change
// was made and the number still looks unchanged: Twilio may yet apply it. The
// saved configuration is kept; the caller restores the number (Restore is safe
// to repeat) when it stops.
var ErrMaybeChanged = errors.New("the number may still be changed")

// Point saves n's configuration to the state directory, then points its voice
// webhook at webhookURL (POST). takeOver allows it to unbind a TwiML App for the
// session (restored with the rest) and to take the number from another callagent
// dev. On error the number is as it was, except with ErrMaybeChanged.
func (p *Provisioner) Point(ctx context.Context, n Number, webhookURL string, takeOver bool) error {
	return p.PointWith(ctx, n, webhookURL, PointOptions{TakeOver: takeOver, TakeOverDev: takeOver})
}

// PointWith is Point with options. While the number is pointed this process holds
// its lock in the state directory: a second callagent on the same directory is
// refused, naming this process, until the number is restored or this process ends.
func (p *Provisioner) PointWith(ctx context.Context, n Number, webhookURL string, opts PointOptions) error {
	if err := n.Pointable(opts.TakeOver); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := p.lock(n); err != nil {
		return err
	}
	if err := p.checkSaved(n); err != nil {
		p.unlock(n.SID)
		return err
	}
	if err := p.OtherDev(n, opts); err != nil {
		p.unlock(n.SID)
		return err
	}
	st := saved{Number: n, AccountID: p.account, PointedTo: webhookURL, PID: os.Getpid(), ProcStart: selfStart, SavedAt: p.now()}
	if _, ok := DevOf(n.VoiceURL); ok {
		st.TookOverFrom = n.VoiceURL
	}
	if opts.RestoreURL != "" {
		st.Number.VoiceURL, st.Number.VoiceMethod = opts.RestoreURL, orDefault(opts.RestoreMethod, http.MethodPost)
	}
	if err := p.save(st); err != nil {
		p.unlock(n.SID)
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

// checkSaved refuses to overwrite a saved configuration of n: it may be all that
// is left of the original one.
func (p *Provisioner) checkSaved(n Number) error {
	prev, err := p.load(n.SID)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("%s: %w", n.PhoneNumber, err)
	case !prev.mine() && prev.held():
		return fmt.Errorf("%w: %s is already pointed at %s by another callagent (pid %d): stop it first, or use another number",
			ErrInUse, n.PhoneNumber, prev.PointedTo, prev.PID)
	}
	return fmt.Errorf("%s has a saved configuration that was not restored yet (%s): restore it first (callagent numbers --restore; "+
		"callagent dev also restores it on start once the number points where that dev pointed it)", n.PhoneNumber, p.path(n.SID))
}

// pointFailed settles an update Twilio answered with an error. A refusal (4xx)
// changed nothing. After a timeout, a lost connection or a 5xx the change may have
// been made, or may yet be: the number is looked at and put back if it was
// changed; if it looks unchanged, or cannot be looked at, the saved configuration
// is kept (ErrMaybeChanged) for a restore when the caller stops or on the next
// start.
func (p *Provisioner) pointFailed(ctx context.Context, st saved, err error) error {
	n, to := st.Number.PhoneNumber, st.PointedTo
	if code := status(err); code >= 400 && code < 500 {
		p.done(st.Number.SID)
		return fmt.Errorf("point %s at %s: %w (the number was not changed)", n, to, err)
	}
	cur, ferr := p.api.FetchNumber(context.WithoutCancel(ctx), st.Number.SID)
	switch {
	case ferr != nil:
		return fmt.Errorf("point %s at %s: %w; Twilio may have made the change, and looking failed: %w "+
			"(its saved configuration is kept; dev puts it back on exit, or it will be restored on the next start)", n, to, err, ferr)
	case cur.VoiceURL != to:
		return fmt.Errorf("point %s at %s: %w: %w; it still goes to %s, but Twilio may apply the change late, "+
			"so its saved configuration is kept and it is restored (and checked) on exit",
			n, to, err, ErrMaybeChanged, Number(cur).Destination())
	}
	if _, rerr := p.restore(ctx, st); rerr != nil {
		return fmt.Errorf("point %s at %s: %w; Twilio had made the change after all, and putting it back failed: %w", n, to, err, rerr)
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

// Saved returns the settings the number sid goes back to on Restore, as saved.
func (p *Provisioner) Saved(sid string) (Number, error) {
	st, err := p.load(sid)
	return st.Number, err
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
	if st.SIP != nil {
		return p.restoreSIP(ctx, st, false)
	}
	// Checked once: a restore that has begun is not left between its look and its
	// update (twilio-go cannot cancel a request in flight anyway).
	ctx = context.WithoutCancel(ctx)
	n := st.Number
	keep := fmt.Sprintf("(its saved configuration is kept in %s: it will be restored on the next start, or by callagent numbers --restore)", p.path(n.SID))
	cur, err := p.api.FetchNumber(ctx, n.SID)
	if err != nil {
		if status(err) == http.StatusNotFound {
			p.done(n.SID)
			return Restored{Number: n, Skipped: "the number is no longer in the account"}, nil
		}
		return Restored{Number: n}, fmt.Errorf("check %s before restoring it: %w %s", n.PhoneNumber, err, keep)
	}
	if cur.VoiceURL != st.PointedTo && !holds(Number(cur), n) {
		if _, ok := DevOf(cur.VoiceURL); ok {
			// Another dev took the number over: what it saved as the original is
			// this dev's URL, so it puts the number back here, and then this saved
			// configuration puts it back as it was.
			p.unlock(n.SID)
			return Restored{Number: n, Skipped: fmt.Sprintf("another callagent dev has taken it over (voice URL %s); "+
				"its original settings (%s) stay saved in %s and are put back once that dev gives the number back "+
				"(callagent numbers --restore, or the next dev)", cur.VoiceURL, n.Destination(), p.path(n.SID))}, nil
		}
		p.done(n.SID)
		return Restored{Number: n, Skipped: fmt.Sprintf("it was changed meanwhile (voice URL %q): left as it is (before callagent it went to %s)",
			cur.VoiceURL, n.Destination())}, nil
	}
	// Sent even when the number looks as saved: an update whose answer was lost
	// may be applied late, and setting the saved values again is harmless.
	update := twiliorest.VoiceUpdate{URL: new(n.VoiceURL), Method: new(orDefault(n.VoiceMethod, http.MethodPost)),
		FallbackURL: new(n.VoiceFallbackURL), ApplicationSID: new(n.VoiceApplicationSID)}
	if n.VoiceFallbackMethod != "" { // callagent never changes it; sending it only risks changing it
		update.FallbackMethod = new(n.VoiceFallbackMethod)
	}
	if _, err := p.api.UpdateNumber(ctx, n.SID, update); err != nil {
		return Restored{Number: n}, fmt.Errorf("restore %s: %w %s", n.PhoneNumber, err, keep)
	}
	// The saved configuration goes only once Twilio shows the number as saved.
	after, err := p.api.FetchNumber(ctx, n.SID)
	if err != nil {
		return Restored{Number: n}, fmt.Errorf("check %s after restoring it: %w %s", n.PhoneNumber, err, keep)
	}
	if !holds(Number(after), n) {
		return Restored{Number: n}, fmt.Errorf("restore %s: Twilio answered, but the number goes to %s %s",
			n.PhoneNumber, Number(after).Destination(), keep)
	}
	if err := p.forget(n.SID); err != nil {
		return Restored{Number: n}, fmt.Errorf("%s is restored, but its saved state could not be removed: %w", n.PhoneNumber, err)
	}
	p.unlock(n.SID)
	return Restored{Number: n}, nil
}

// holds reports whether cur has the voice settings saved in want.
func holds(cur, want Number) bool {
	return cur.VoiceURL == want.VoiceURL &&
		strings.EqualFold(orDefault(cur.VoiceMethod, http.MethodPost), orDefault(want.VoiceMethod, http.MethodPost)) &&
		cur.VoiceFallbackURL == want.VoiceFallbackURL && cur.VoiceApplicationSID == want.VoiceApplicationSID &&
		(want.VoiceFallbackMethod == "" || cur.VoiceFallbackMethod == want.VoiceFallbackMethod)
}

// done forgets sid's saved configuration and releases its lock.
func (p *Provisioner) done(sid string) {
	_ = p.forget(sid)
	p.unlock(sid)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Pending returns the numbers whose configuration is saved but not restored: left
// behind by a session that crashed or was killed. Another running session's numbers
// (its process is alive, or it holds the number's lock) are not included. A
// damaged state file affects only its own number: the others are returned, with a
// *DamagedStateError for each damaged file.
func (p *Provisioner) Pending() ([]Number, error) {
	states, err := p.states()
	var out []Number
	for _, st := range states {
		if !st.held() && !p.busy(st.Number.SID) {
			out = append(out, st.Number)
		}
	}
	return out, err
}

// Session is a number a running callagent has pointed at itself.
type Session struct {
	Number  Number
	Webhook string // where the number points now (PUBLIC/incoming-call)
	PID     int
	Since   time.Time
}

// Sessions returns the numbers running callagent processes (this one included)
// have pointed at themselves; damaged state files are reported as Pending does.
func (p *Provisioner) Sessions() ([]Session, error) {
	states, err := p.states()
	var out []Session
	for _, st := range states {
		if st.held() || p.busy(st.Number.SID) {
			out = append(out, Session{Number: st.Number, Webhook: st.PointedTo, PID: st.PID, Since: st.SavedAt})
		}
	}
	return out, err
}

// RecoverCrashed restores every number a crashed session left pointed at callagent.
// A number whose state file is damaged, or whose restore fails, does not stop the
// others: each is in the error.
func (p *Provisioner) RecoverCrashed(ctx context.Context) ([]Restored, error) {
	pending, err := p.Pending()
	var out []Restored
	errs := []error{err}
	for _, n := range pending {
		if err := p.lock(n); err != nil {
			continue // a callagent that started meanwhile holds it: not left behind
		}
		r, err := p.Restore(ctx, n.SID)
		if err != nil {
			p.unlock(n.SID)
			errs = append(errs, err)
			continue
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

// DamagedStateError is a state file that cannot be read. It may hold the only copy
// of a number's settings from before callagent changed them, so it is never
// overwritten or removed by callagent: its Error says what to check and how to
// put the number back by hand.
type DamagedStateError struct {
	Path string
	SID  string // from the file's name
	Err  error
}

func (e *DamagedStateError) Error() string {
	return fmt.Sprintf("saved configuration %s (number %s) is damaged: %v. It may hold that number's voice settings from "+
		"before callagent dev changed them: open it and find \"voice_url\" and \"voice_method\"; if the number "+
		"(callagent numbers) still goes to a callagent dev URL (…/incoming-call), set them back in the Twilio console "+
		"(Phone Numbers › Active numbers › the number › Voice Configuration); then remove the file. Other numbers are not affected",
		e.Path, e.SID, e.Err)
}

func (e *DamagedStateError) Unwrap() error { return e.Err }

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
		return st, &DamagedStateError{Path: p.path(sid), SID: sid, Err: err}
	}
	if st.Number.SID != sid {
		return st, &DamagedStateError{Path: p.path(sid), SID: sid, Err: fmt.Errorf("it names number %q", st.Number.SID)}
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

// states returns the account's saved states, and the damaged files as errors.
func (p *Provisioner) states() ([]saved, error) {
	entries, err := os.ReadDir(p.stateDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []saved
	var errs []error
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".json") || strings.HasPrefix(name, ".") {
			continue
		}
		st, err := p.load(strings.TrimSuffix(name, ".json"))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if st.AccountID == p.account {
			out = append(out, st)
		}
	}
	slices.SortFunc(out, func(a, b saved) int { return strings.Compare(a.Number.PhoneNumber, b.Number.PhoneNumber) })
	return out, errors.Join(errs...)
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
