package provision

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/callagent/callagent/pkg/twiliorest"
)

// SIP: the number's calls go to OpenAI's SIP endpoint through callagent's Elastic
// SIP trunk, instead of to a voice URL. PointSIP saves the number's settings
// (with the rest of the state file's guarantees: the lock, crash recovery by
// RecoverCrashed, numbers --restore), then, each step saved before it is taken:
//
//  1. finds callagent's trunk (FriendlyName TrunkName, domain callagent-…) or
//     creates it; it is kept for the next run (a trunk without numbers takes no
//     calls and costs nothing);
//  2. makes the trunk's origination URL the given SIP URI (the trunk's previous
//     origination URLs, if it had others, are saved and put back on exit);
//  3. takes the number off the trunk it was on, if any (only with TakeOver: a
//     trunk callagent did not create is the user's);
//  4. attaches the number to callagent's trunk (Twilio then clears its TwiML
//     App, saved with the rest).
//
// A step that fails undoes the ones before it (a trunk created by this run is
// deleted), so the account is as it was, and says which step failed and why.
// Restore puts the number back: off callagent's trunk, its voice settings and
// previous trunk as saved, the trunk's origination URLs as they were.

// TrunkName is the FriendlyName of the SIP trunk callagent creates and reuses;
// a trunk without it (and the callagent- domain) is never changed without the
// user's consent.
const TrunkName = "callagent dev --sip"

// trunkDomainPrefix starts the domain name of callagent's trunks.
const trunkDomainPrefix = "callagent-"

// originName is the FriendlyName of the origination URL callagent adds.
const originName = "OpenAI (callagent)"

// SIPOptions say where PointSIP sends the number's calls and what it may take over.
type SIPOptions struct {
	// URI is the trunk's origination URI, OpenAI's SIP endpoint for the
	// project: sip:PROJECT@sip.api.openai.com;transport=tls.
	URI string
	// TakeOver moves a number off a trunk callagent did not create, or
	// unbinds its TwiML App, or takes it from another callagent dev, for the
	// session (all put back on exit).
	TakeOver bool
}

// sipSaved is what PointSIP changed besides the number's voice settings, in the
// state file, written before each change.
type sipSaved struct {
	URI          string `json:"uri"`
	TrunkSID     string `json:"trunk_sid,omitempty"`     // callagent's trunk
	TrunkCreated bool   `json:"trunk_created,omitempty"` // by this run: a failed start deletes it
	// OriginsBefore are the trunk's origination URLs as they were, when this
	// run changed them; they are put back on restore.
	OriginsBefore []originSaved `json:"origins_before,omitempty"`
	OriginAdded   bool          `json:"origin_added,omitempty"` // this run added the URI to the trunk
	Detached      bool          `json:"detached,omitempty"`     // the number was taken off its previous trunk
	Step          string        `json:"step,omitempty"`         // the step under way or done last
}

type originSaved struct {
	SID          string `json:"sid"`
	FriendlyName string `json:"friendly_name"`
	SIPURL       string `json:"sip_url"`
	Enabled      bool   `json:"enabled"`
	Priority     int    `json:"priority"`
	Weight       int    `json:"weight"`
}

// SIPStepError is a PointSIP that failed at one step: Step says which, Err why
// (errors.As reaches Twilio's *twiliorest.Error through it).
type SIPStepError struct {
	Step string
	Err  error
	// Undo is the error of putting back the steps before, or nil.
	Undo error
	// Undone is set once the account is as it was.
	Undone bool
}

func (e *SIPStepError) Error() string {
	switch {
	case e.Undo != nil:
		return fmt.Sprintf("%s: %v; putting back what was done failed: %v", e.Step, e.Err, e.Undo)
	case !e.Undone:
		return fmt.Sprintf("%s: %v", e.Step, e.Err)
	}
	return fmt.Sprintf("%s: %v (what was done before is put back: nothing is changed)", e.Step, e.Err)
}

func (e *SIPStepError) Unwrap() error { return e.Err }

// IsCallagentTrunk says whether t is a trunk callagent created.
func IsCallagentTrunk(t twiliorest.Trunk) bool {
	return t.FriendlyName == TrunkName && strings.HasPrefix(t.DomainName, trunkDomainPrefix)
}

// SIPPointable says why PointSIP would refuse n without TakeOver, or nil.
func (p *Provisioner) SIPPointable(ctx context.Context, n Number, takeOver bool) error {
	if takeOver {
		return nil
	}
	if n.TrunkSID != "" {
		t, err := p.api.FetchTrunk(ctx, n.TrunkSID)
		if err != nil {
			return fmt.Errorf("look at SIP trunk %s, which %s is on: %w", n.TrunkSID, n.PhoneNumber, err)
		}
		if IsCallagentTrunk(t) {
			return fmt.Errorf("%w: %s is on callagent's SIP trunk %s already: another callagent dev --sip (another machine, or "+
				"another state directory) uses it. Stop that dev, or pass --take-over", ErrOtherDev, n.PhoneNumber, n.TrunkSID)
		}
		return fmt.Errorf("%w: %s is on SIP trunk %s (%s), which callagent did not create: pass --take-over to move it to "+
			"callagent's trunk while dev runs (it goes back on exit), or use another number", ErrBound, n.PhoneNumber, n.TrunkSID, t.FriendlyName)
	}
	if n.VoiceApplicationSID != "" {
		return fmt.Errorf("%w: %s sends its calls to TwiML App %s, which Twilio unbinds from a number put on a SIP trunk: "+
			"pass --take-over (it is bound again on exit), or use another number", ErrBound, n.PhoneNumber, n.VoiceApplicationSID)
	}
	return p.OtherDev(n, PointOptions{})
}

// PointSIP sends n's calls to opts.URI through callagent's SIP trunk (see above),
// and returns that trunk. On error nothing is changed, unless the error says
// that putting back failed: the state then stays saved for Restore.
func (p *Provisioner) PointSIP(ctx context.Context, n Number, opts SIPOptions) (twiliorest.Trunk, error) {
	if !strings.HasPrefix(opts.URI, "sip:") {
		return twiliorest.Trunk{}, fmt.Errorf("the SIP URI %q is not a sip: URI", opts.URI)
	}
	if err := ctx.Err(); err != nil {
		return twiliorest.Trunk{}, err
	}
	if err := p.SIPPointable(ctx, n, opts.TakeOver); err != nil {
		return twiliorest.Trunk{}, err
	}
	if err := p.lock(n); err != nil {
		return twiliorest.Trunk{}, err
	}
	if err := p.checkSaved(n); err != nil {
		p.unlock(n.SID)
		return twiliorest.Trunk{}, err
	}
	st := saved{Number: n, AccountID: p.account, PointedTo: opts.URI, PID: os.Getpid(), ProcStart: selfStart, SavedAt: p.now(),
		SIP: &sipSaved{URI: opts.URI, Step: "save"}}
	if err := p.save(st); err != nil {
		p.unlock(n.SID)
		return twiliorest.Trunk{}, fmt.Errorf("save %s's configuration before changing it: %w", n.PhoneNumber, err)
	}
	// Once the state is saved the steps run to the end or are undone: a context
	// ended midway would leave them half done.
	ctx = context.WithoutCancel(ctx)
	trunk, err := p.sipSteps(ctx, &st)
	if err != nil {
		step := err.(*SIPStepError)
		if _, uerr := p.restoreSIP(ctx, st, true); uerr != nil {
			step.Undo = uerr // says where the state is kept
		} else {
			step.Undone = true
		}
		return twiliorest.Trunk{}, step
	}
	return trunk, nil
}

// sipSteps takes the steps, saving st before each; its error is a *SIPStepError.
func (p *Provisioner) sipSteps(ctx context.Context, st *saved) (twiliorest.Trunk, error) {
	n, sip := st.Number, st.SIP
	step := func(name string) error {
		sip.Step = name
		if err := p.save(*st); err != nil {
			return &SIPStepError{Step: name, Err: fmt.Errorf("save the state: %w", err)}
		}
		return nil
	}
	fail := func(err error) error { return &SIPStepError{Step: sip.Step, Err: err} }

	// 1. callagent's trunk.
	if err := step("find or create callagent's SIP trunk"); err != nil {
		return twiliorest.Trunk{}, err
	}
	trunk, created, err := p.callagentTrunk(ctx, func(t twiliorest.Trunk) error {
		sip.TrunkSID, sip.TrunkCreated = t.SID, true
		return p.save(*st)
	})
	if err != nil {
		return twiliorest.Trunk{}, fail(err)
	}
	sip.TrunkSID, sip.TrunkCreated = trunk.SID, created

	// 2. Its origination URL.
	if err := step("set the origination URL of SIP trunk " + trunk.SID + " to " + sip.URI); err != nil {
		return trunk, err
	}
	origins, err := p.api.ListOriginationURLs(ctx, trunk.SID)
	if err != nil {
		return trunk, fail(err)
	}
	if !hasOrigin(origins, sip.URI) {
		if len(origins) == 0 {
			sip.OriginAdded = true
			if err := p.save(*st); err != nil {
				return trunk, fail(err)
			}
			if _, err := p.api.CreateOriginationURL(ctx, twiliorest.OriginationURL{TrunkSID: trunk.SID, FriendlyName: originName,
				SIPURL: sip.URI, Enabled: true, Priority: 10, Weight: 10}); err != nil {
				return trunk, fail(err)
			}
		} else {
			for _, o := range origins {
				sip.OriginsBefore = append(sip.OriginsBefore, originSaved{SID: o.SID, FriendlyName: o.FriendlyName, SIPURL: o.SIPURL,
					Enabled: o.Enabled, Priority: o.Priority, Weight: o.Weight})
			}
			if err := p.save(*st); err != nil {
				return trunk, fail(err)
			}
			// The first becomes the URI; the others stop taking calls.
			for i, o := range origins {
				if i == 0 {
					o.FriendlyName, o.SIPURL, o.Enabled = originName, sip.URI, true
				} else if !o.Enabled {
					continue
				} else {
					o.Enabled = false
				}
				o.TrunkSID = trunk.SID
				if _, err := p.api.UpdateOriginationURL(ctx, o); err != nil {
					return trunk, fail(err)
				}
			}
		}
	}

	// 3. Off the trunk it was on.
	if n.TrunkSID != "" && n.TrunkSID != trunk.SID {
		sip.Detached = true
		if err := step("take " + n.PhoneNumber + " off SIP trunk " + n.TrunkSID); err != nil {
			return trunk, err
		}
		if err := p.api.DetachNumber(ctx, n.TrunkSID, n.SID); err != nil {
			return trunk, fail(err)
		}
	}

	// 4. On callagent's.
	if n.TrunkSID != trunk.SID {
		if err := step("attach " + n.PhoneNumber + " to SIP trunk " + trunk.SID); err != nil {
			return trunk, err
		}
		if err := p.api.AttachNumber(ctx, trunk.SID, n.SID); err != nil {
			return trunk, fail(err)
		}
	}
	if err := step("done"); err != nil {
		return trunk, err
	}
	return trunk, nil
}

func hasOrigin(list []twiliorest.OriginationURL, uri string) bool {
	for _, o := range list {
		if o.SIPURL == uri && o.Enabled {
			return true
		}
	}
	return false
}

// callagentTrunk finds callagent's trunk or creates it; made is called with a
// trunk just created, before anything else is done.
func (p *Provisioner) callagentTrunk(ctx context.Context, made func(twiliorest.Trunk) error) (twiliorest.Trunk, bool, error) {
	trunks, err := p.api.ListTrunks(ctx)
	if err != nil {
		return twiliorest.Trunk{}, false, err
	}
	for _, t := range trunks {
		if IsCallagentTrunk(t) {
			return t, false, nil
		}
	}
	// Domain names are unique across Twilio and stay taken after a delete:
	// each creation draws a new one, and a taken one (21248) is drawn again once.
	var t twiliorest.Trunk
	for try := 0; ; try++ {
		var r [4]byte
		if _, err := rand.Read(r[:]); err != nil {
			return twiliorest.Trunk{}, false, err
		}
		acct := strings.ToLower(p.account)
		if len(acct) > 8 {
			acct = acct[len(acct)-8:]
		}
		t, err = p.api.CreateTrunk(ctx, TrunkName, trunkDomainPrefix+acct+"-"+hex.EncodeToString(r[:])+".pstn.twilio.com")
		var te *twiliorest.Error
		if err != nil && try == 0 && errors.As(err, &te) && te.Code == 21248 {
			continue
		}
		break
	}
	if err != nil {
		return twiliorest.Trunk{}, false, err
	}
	if err := made(t); err != nil {
		return t, true, err
	}
	return t, true, nil
}

// restoreSIP puts back what st.SIP says was changed; rollback (a failed start)
// also deletes a trunk the run created, and an origination URL it added to a
// trunk that was there.
func (p *Provisioner) restoreSIP(ctx context.Context, st saved, rollback bool) (Restored, error) {
	ctx = context.WithoutCancel(ctx)
	n, sip := st.Number, st.SIP
	keep := fmt.Sprintf("(its saved configuration is kept in %s: it will be restored on the next start, or by callagent numbers --restore)", p.path(n.SID))
	res := Restored{Number: n}
	cur, err := p.api.FetchNumber(ctx, n.SID)
	gone := status(err) == http.StatusNotFound
	if err != nil && !gone {
		return res, fmt.Errorf("check %s before restoring it: %w %s", n.PhoneNumber, err, keep)
	}
	if gone {
		res.Skipped = "the number is no longer in the account"
	}
	mine := sip.TrunkSID != "" && cur.TrunkSID == sip.TrunkSID && sip.TrunkSID != n.TrunkSID
	if !gone && !mine && cur.TrunkSID != "" && cur.TrunkSID != n.TrunkSID {
		res.Skipped = fmt.Sprintf("it was moved to SIP trunk %s meanwhile: left as it is (before callagent it went to %s)", cur.TrunkSID, n.Destination())
	}
	if res.Skipped == "" {
		if mine {
			if err := p.api.DetachNumber(ctx, sip.TrunkSID, n.SID); err != nil {
				return res, fmt.Errorf("take %s off SIP trunk %s: %w %s", n.PhoneNumber, sip.TrunkSID, err, keep)
			}
		}
		update := twiliorest.VoiceUpdate{URL: new(n.VoiceURL), Method: new(orDefault(n.VoiceMethod, http.MethodPost)),
			FallbackURL: new(n.VoiceFallbackURL), ApplicationSID: new(n.VoiceApplicationSID)}
		if n.VoiceFallbackMethod != "" {
			update.FallbackMethod = new(n.VoiceFallbackMethod)
		}
		if n.TrunkSID != "" {
			update.ApplicationSID, update.TrunkSID = nil, new(n.TrunkSID)
		}
		if _, err := p.api.UpdateNumber(ctx, n.SID, update); err != nil {
			return res, fmt.Errorf("restore %s: %w %s", n.PhoneNumber, err, keep)
		}
	}
	if err := p.restoreTrunk(ctx, sip, rollback); err != nil {
		return res, fmt.Errorf("put callagent's SIP trunk %s back: %w %s", sip.TrunkSID, err, keep)
	}
	if res.Skipped == "" {
		after, err := p.api.FetchNumber(ctx, n.SID)
		if err != nil {
			return res, fmt.Errorf("check %s after restoring it: %w %s", n.PhoneNumber, err, keep)
		}
		if !holds(Number(after), n) || after.TrunkSID != n.TrunkSID {
			return res, fmt.Errorf("restore %s: Twilio answered, but the number goes to %s %s", n.PhoneNumber, Number(after).Destination(), keep)
		}
	}
	if err := p.forget(n.SID); err != nil {
		return res, fmt.Errorf("%s is restored, but its saved state could not be removed: %w", n.PhoneNumber, err)
	}
	p.unlock(n.SID)
	return res, nil
}

// restoreTrunk puts callagent's trunk back as it was before the run: its
// origination URLs as saved; on a rollback, the trunk deleted if the run created
// it, or the URI's origination URL removed if the run added it.
func (p *Provisioner) restoreTrunk(ctx context.Context, sip *sipSaved, rollback bool) error {
	if sip.TrunkSID == "" {
		return nil
	}
	if rollback && sip.TrunkCreated {
		return p.api.DeleteTrunk(ctx, sip.TrunkSID)
	}
	for _, o := range sip.OriginsBefore {
		_, err := p.api.UpdateOriginationURL(ctx, twiliorest.OriginationURL{SID: o.SID, TrunkSID: sip.TrunkSID, FriendlyName: o.FriendlyName,
			SIPURL: o.SIPURL, Enabled: o.Enabled, Priority: o.Priority, Weight: o.Weight})
		if status(err) == http.StatusNotFound {
			continue // removed meanwhile
		}
		if err != nil {
			return err
		}
	}
	if rollback && sip.OriginAdded {
		list, err := p.api.ListOriginationURLs(ctx, sip.TrunkSID)
		if status(err) == http.StatusNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		for _, o := range list {
			if o.SIPURL == sip.URI {
				if err := p.api.DeleteOriginationURL(ctx, sip.TrunkSID, o.SID); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
