package twiliotransport

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	twclient "github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/callagent/callagent/internal/twilioapi"
)

// RESTOptions configure CallControl: the account SID with its auth token or an API
// key pair, and optionally another API host and HTTP client.
type RESTOptions struct {
	AccountSID string
	AuthToken  string
	APIKey     string
	APISecret  string
	BaseURL    string // default https://api.twilio.com (CALLAGENT_TWILIO_API_URL)
	HTTPClient *http.Client
}

// CallControl changes calls in progress through Twilio's REST API: Media Streams
// cannot hang up or transfer, the Calls resource can.
type CallControl struct {
	api *openapi.ApiService
}

// NewCallControl returns a CallControl, or an error saying which credential is missing.
func NewCallControl(opts RESTOptions) (*CallControl, error) {
	api, err := twilioapi.New(twilioapi.Options{
		Credentials: twilioapi.Credentials{AccountSID: opts.AccountSID, AuthToken: opts.AuthToken, APIKey: opts.APIKey, APISecret: opts.APISecret},
		BaseURL:     opts.BaseURL, HTTPClient: opts.HTTPClient,
	})
	if err != nil {
		return nil, err
	}
	return &CallControl{api: api}, nil
}

// errCodeNotInProgress is Twilio's "Call is not in-progress" (the caller hung up).
const errCodeNotInProgress = 21220

// Hangup ends the call (Status=completed). A call that is already over is not an
// error: the caller may have hung up first.
func (c *CallControl) Hangup(ctx context.Context, callSID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	_, err := c.api.UpdateCall(callSID, (&openapi.UpdateCallParams{}).SetStatus("completed"))
	if err != nil && !callOver(err) {
		return fmt.Errorf("hang up %s: %s", callSID, twilioapi.Describe(err))
	}
	return nil
}

// Redirect replaces the call's TwiML, which ends the media stream: a transfer is a
// redirect to <Dial>.
func (c *CallControl) Redirect(ctx context.Context, callSID, twiml string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	_, err := c.api.UpdateCall(callSID, (&openapi.UpdateCallParams{}).SetTwiml(twiml))
	if err != nil {
		if callOver(err) {
			return ErrCallOver
		}
		return fmt.Errorf("update %s: %s", callSID, twilioapi.Describe(err))
	}
	return nil
}

// ErrCallOver is returned by Redirect when the call has already ended.
var ErrCallOver = errors.New("the call is already over")

func callOver(err error) bool {
	var re *twclient.TwilioRestError
	return errors.As(err, &re) && (re.Status == http.StatusNotFound || re.Code == errCodeNotInProgress)
}
