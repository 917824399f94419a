package twiliorest

import (
	"context"
	"net/http"

	trunking "github.com/twilio/twilio-go/rest/trunking/v1"
)

// Twilio's Elastic SIP Trunking API (trunking.twilio.com/v1): the account's trunks,
// a trunk's origination URLs (where Twilio sends the calls of the trunk's numbers)
// and the numbers attached to a trunk. A number on a trunk ignores its voice URL
// and TwiML App: the trunk takes its calls. Creates are never sent twice (a 5xx
// may hide one that was made); reads, deletes and updates that set values are
// tried again after 429 or 5xx.

// Trunk is an Elastic SIP trunk.
type Trunk struct {
	SID          string
	FriendlyName string
	DomainName   string // NAME.pstn.twilio.com, unique across Twilio
}

// OriginationURL is where a trunk sends its calls: a sip: URI.
type OriginationURL struct {
	SID          string
	TrunkSID     string
	FriendlyName string
	SIPURL       string
	Enabled      bool
	Priority     int // 0..65535, lowest first
	Weight       int // 1..65535, share among equal priorities
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func trunkFromAPI(t trunking.TrunkingV1Trunk) Trunk {
	return Trunk{SID: str(t.Sid), FriendlyName: str(t.FriendlyName), DomainName: str(t.DomainName)}
}

func originationFromAPI(o trunking.TrunkingV1OriginationUrl) OriginationURL {
	return OriginationURL{SID: str(o.Sid), TrunkSID: str(o.TrunkSid), FriendlyName: str(o.FriendlyName), SIPURL: str(o.SipUrl),
		Enabled: o.Enabled != nil && *o.Enabled, Priority: o.Priority, Weight: o.Weight}
}

// ListTrunks returns the account's SIP trunks (the first 100).
func (c *Client) ListTrunks(ctx context.Context) ([]Trunk, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var list []trunking.TrunkingV1Trunk
	if e := c.do(ctx, "ListTrunks", idempotent, func() (err error) {
		list, err = c.trunk.ListTrunk((&trunking.ListTrunkParams{}).SetPageSize(100).SetLimit(100))
		return err
	}); e != nil {
		return nil, e
	}
	out := make([]Trunk, len(list))
	for i, t := range list {
		out[i] = trunkFromAPI(t)
	}
	return out, nil
}

// FetchTrunk returns the trunk sid.
func (c *Client) FetchTrunk(ctx context.Context, sid string) (Trunk, error) {
	if err := ctx.Err(); err != nil {
		return Trunk{}, err
	}
	var t *trunking.TrunkingV1Trunk
	if e := c.do(ctx, "FetchTrunk", idempotent, func() (err error) {
		t, err = c.trunk.FetchTrunk(sid)
		return err
	}); e != nil {
		return Trunk{}, e
	}
	return trunkFromAPI(*t), nil
}

// CreateTrunk creates a trunk with a friendly name and a domain name
// (NAME.pstn.twilio.com; Twilio error 21248 when another trunk, of any account,
// has it). It is never sent twice.
func (c *Client) CreateTrunk(ctx context.Context, friendlyName, domainName string) (Trunk, error) {
	if err := ctx.Err(); err != nil {
		return Trunk{}, err
	}
	var t *trunking.TrunkingV1Trunk
	if e := c.do(ctx, "CreateTrunk", never, func() (err error) {
		t, err = c.trunk.CreateTrunk((&trunking.CreateTrunkParams{}).SetFriendlyName(friendlyName).SetDomainName(domainName))
		return err
	}); e != nil {
		return Trunk{}, e
	}
	return trunkFromAPI(*t), nil
}

// DeleteTrunk deletes the trunk sid; its numbers leave it. One already gone is
// not an error.
func (c *Client) DeleteTrunk(ctx context.Context, sid string) error {
	return c.deleted(ctx, "DeleteTrunk", func() error { return c.trunk.DeleteTrunk(sid) })
}

// deleted runs a delete, tried again like an idempotent update; a 404 (gone
// already, perhaps by the try whose answer was lost) is success.
func (c *Client) deleted(ctx context.Context, op string, del func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if e := c.do(ctx, op, idempotent, del); e != nil && e.Status != http.StatusNotFound {
		return e
	}
	return nil
}

// ListOriginationURLs returns the origination URLs of the trunk.
func (c *Client) ListOriginationURLs(ctx context.Context, trunkSID string) ([]OriginationURL, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var list []trunking.TrunkingV1OriginationUrl
	if e := c.do(ctx, "ListOriginationURLs", idempotent, func() (err error) {
		list, err = c.trunk.ListOriginationUrl(trunkSID, (&trunking.ListOriginationUrlParams{}).SetPageSize(100).SetLimit(100))
		return err
	}); e != nil {
		return nil, e
	}
	out := make([]OriginationURL, len(list))
	for i, o := range list {
		out[i] = originationFromAPI(o)
	}
	return out, nil
}

// CreateOriginationURL adds an origination URL to a trunk (o.TrunkSID); never
// sent twice.
func (c *Client) CreateOriginationURL(ctx context.Context, o OriginationURL) (OriginationURL, error) {
	if err := ctx.Err(); err != nil {
		return OriginationURL{}, err
	}
	params := (&trunking.CreateOriginationUrlParams{}).SetFriendlyName(o.FriendlyName).SetSipUrl(o.SIPURL).
		SetEnabled(o.Enabled).SetPriority(o.Priority).SetWeight(o.Weight)
	var out *trunking.TrunkingV1OriginationUrl
	if e := c.do(ctx, "CreateOriginationURL", never, func() (err error) {
		out, err = c.trunk.CreateOriginationUrl(o.TrunkSID, params)
		return err
	}); e != nil {
		return OriginationURL{}, e
	}
	return originationFromAPI(*out), nil
}

// UpdateOriginationURL sets every field of the origination URL o.SID of trunk
// o.TrunkSID to o's.
func (c *Client) UpdateOriginationURL(ctx context.Context, o OriginationURL) (OriginationURL, error) {
	if err := ctx.Err(); err != nil {
		return OriginationURL{}, err
	}
	params := (&trunking.UpdateOriginationUrlParams{}).SetFriendlyName(o.FriendlyName).SetSipUrl(o.SIPURL).
		SetEnabled(o.Enabled).SetPriority(o.Priority).SetWeight(o.Weight)
	var out *trunking.TrunkingV1OriginationUrl
	if e := c.do(ctx, "UpdateOriginationURL", idempotent, func() (err error) {
		out, err = c.trunk.UpdateOriginationUrl(o.TrunkSID, o.SID, params)
		return err
	}); e != nil {
		return OriginationURL{}, e
	}
	return originationFromAPI(*out), nil
}

// DeleteOriginationURL removes an origination URL from its trunk; one already
// gone is not an error.
func (c *Client) DeleteOriginationURL(ctx context.Context, trunkSID, sid string) error {
	return c.deleted(ctx, "DeleteOriginationURL", func() error { return c.trunk.DeleteOriginationUrl(trunkSID, sid) })
}

// AttachNumber puts the account's number numberSID on the trunk: its calls then go
// to the trunk's origination URLs, and Twilio clears its TwiML App. Sent twice
// only after a 429 (Twilio answers it before doing anything).
func (c *Client) AttachNumber(ctx context.Context, trunkSID, numberSID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if e := c.do(ctx, "AttachNumber", rateLimited, func() error {
		_, err := c.trunk.CreatePhoneNumber(trunkSID, (&trunking.CreatePhoneNumberParams{}).SetPhoneNumberSid(numberSID))
		return err
	}); e != nil {
		return e
	}
	return nil
}

// DetachNumber takes the number off the trunk: its voice URL takes its calls
// again. A number no longer on the trunk is not an error.
func (c *Client) DetachNumber(ctx context.Context, trunkSID, numberSID string) error {
	return c.deleted(ctx, "DetachNumber", func() error { return c.trunk.DeletePhoneNumber(trunkSID, numberSID) })
}
