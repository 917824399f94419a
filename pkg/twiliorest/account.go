package twiliorest

import "context"

// Account is the account the credentials act for (the Accounts resource), without
// its auth token: Twilio returns it, this package drops it.
type Account struct {
	SID          string
	FriendlyName string
	Status       string // active, suspended or closed
	Type         string // Trial or Full
}

// FetchAccount returns the client's account: the cheapest request that proves the
// credentials (Twilio answers 401 with error 20003 to wrong ones).
func (c *Client) FetchAccount(ctx context.Context) (Account, error) {
	if err := ctx.Err(); err != nil {
		return Account{}, err
	}
	var a Account
	if e := c.do(ctx, "FetchAccount", idempotent, func() error {
		got, err := c.api.FetchAccount(c.account)
		if err != nil {
			return err
		}
		s := func(p *string) string {
			if p == nil {
				return ""
			}
			return *p
		}
		a = Account{SID: s(got.Sid), FriendlyName: s(got.FriendlyName), Status: s(got.Status), Type: s(got.Type)}
		return nil
	}); e != nil {
		return Account{}, e
	}
	return a, nil
}
