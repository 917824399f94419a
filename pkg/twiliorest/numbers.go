package twiliorest

import (
	"context"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

// Number is one of the account's phone numbers (the IncomingPhoneNumbers resource):
// where its calls go.
type Number struct {
	SID                 string
	PhoneNumber         string // E.164
	FriendlyName        string
	VoiceURL            string
	VoiceMethod         string
	VoiceFallbackURL    string
	VoiceFallbackMethod string
	VoiceApplicationSID string // a TwiML App that takes the calls instead of VoiceURL
	TrunkSID            string // a SIP trunk that takes the calls instead of either
}

func fromAPI(p openapi.ApiV2010IncomingPhoneNumber) Number {
	s := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	return Number{SID: s(p.Sid), PhoneNumber: s(p.PhoneNumber), FriendlyName: s(p.FriendlyName), VoiceURL: s(p.VoiceUrl),
		VoiceMethod: s(p.VoiceMethod), VoiceFallbackURL: s(p.VoiceFallbackUrl), VoiceFallbackMethod: s(p.VoiceFallbackMethod),
		VoiceApplicationSID: s(p.VoiceApplicationSid), TrunkSID: s(p.TrunkSid)}
}

// VoiceUpdate changes a number's voice settings. Nil fields are not sent, so
// Twilio leaves them as they are; a pointer to "" clears the setting.
type VoiceUpdate struct {
	URL            *string
	Method         *string
	FallbackURL    *string
	FallbackMethod *string
	ApplicationSID *string
	// TrunkSID attaches the number to that SIP trunk ("" takes it off the one it
	// is on). Twilio clears the TwiML App of a number put on a trunk, and the
	// trunk of a number given a TwiML App.
	TrunkSID *string
}

// ListNumbers returns the account's phone numbers (the first 100).
func (c *Client) ListNumbers(ctx context.Context) ([]Number, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var list []openapi.ApiV2010IncomingPhoneNumber
	if e := c.do(ctx, "ListNumbers", idempotent, func() (err error) {
		list, err = c.api.ListIncomingPhoneNumber((&openapi.ListIncomingPhoneNumberParams{}).SetPageSize(100))
		return err
	}); e != nil {
		return nil, e
	}
	out := make([]Number, len(list))
	for i, n := range list {
		out[i] = fromAPI(n)
	}
	return out, nil
}

// FetchNumber returns the number sid as it is now.
func (c *Client) FetchNumber(ctx context.Context, sid string) (Number, error) {
	if err := ctx.Err(); err != nil {
		return Number{}, err
	}
	var n *openapi.ApiV2010IncomingPhoneNumber
	if e := c.do(ctx, "FetchNumber", idempotent, func() (err error) {
		n, err = c.api.FetchIncomingPhoneNumber(sid, nil)
		return err
	}); e != nil {
		return Number{}, e
	}
	return fromAPI(*n), nil
}

// UpdateNumber changes the voice settings of the number sid and returns it as
// changed.
func (c *Client) UpdateNumber(ctx context.Context, sid string, u VoiceUpdate) (Number, error) {
	if err := ctx.Err(); err != nil {
		return Number{}, err
	}
	params := &openapi.UpdateIncomingPhoneNumberParams{VoiceUrl: u.URL, VoiceMethod: u.Method,
		VoiceFallbackUrl: u.FallbackURL, VoiceFallbackMethod: u.FallbackMethod, VoiceApplicationSid: u.ApplicationSID, TrunkSid: u.TrunkSID}
	var n *openapi.ApiV2010IncomingPhoneNumber
	if e := c.do(ctx, "UpdateNumber", idempotent, func() (err error) {
		n, err = c.api.UpdateIncomingPhoneNumber(sid, params)
		return err
	}); e != nil {
		return Number{}, e
	}
	return fromAPI(*n), nil
}
