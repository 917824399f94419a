package twiliorest

import (
	"context"
	"fmt"
	"net/http"

	openapi "github.com/twilio/twilio-go/rest/api/v2010"
)

// Hangup ends the call (Status=completed). A call that is already over is not an
// error: the caller may have hung up first. Media Streams cannot hang up or
// transfer a call; the Calls resource can.
func (c *Client) Hangup(ctx context.Context, callSID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e := c.do(ctx, "Hangup", idempotent, func() error {
		_, err := c.api.UpdateCall(callSID, (&openapi.UpdateCallParams{}).SetStatus("completed"))
		return err
	})
	if e != nil {
		if !e.callOver() {
			return fmt.Errorf("hang up %s: %w", callSID, e)
		}
	}
	return nil
}

// Redirect replaces the call's TwiML, which ends the media stream: a transfer is a
// redirect to <Dial>. A call already over is ErrCallOver.
func (c *Client) Redirect(ctx context.Context, callSID, twiml string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e := c.do(ctx, "Redirect", rateLimited, func() error {
		_, err := c.api.UpdateCall(callSID, (&openapi.UpdateCallParams{}).SetTwiml(twiml))
		return err
	})
	if e != nil {
		if !e.callOver() {
			return fmt.Errorf("update %s: %w", callSID, e)
		}
		return ErrCallOver
	}
	return nil
}

// CreateCall places an outbound call from one of the account's numbers to a phone;
// when it is answered Twilio asks webhookURL (POST) what to do. It returns the new
// call's SID.
func (c *Client) CreateCall(ctx context.Context, from, to, webhookURL string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	var call *openapi.ApiV2010Call
	if e := c.do(ctx, "CreateCall", never, func() (err error) {
		call, err = c.api.CreateCall((&openapi.CreateCallParams{}).SetFrom(from).SetTo(to).SetUrl(webhookURL).SetMethod(http.MethodPost))
		return err
	}); e != nil {
		return "", e
	}
	if call.Sid == nil {
		return "", nil
	}
	return *call.Sid, nil
}
