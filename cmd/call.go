package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/callagent/callagent/pkg/provision"
	"github.com/callagent/callagent/pkg/server"
)

type callOptions struct {
	To        string
	Number    string // the account's number the call is placed from
	PublicURL string
	JSON      bool
}

// placedCall is call's --json output. Its fields are documented in the command's
// help; add fields, never rename them.
type placedCall struct {
	CallSID string `json:"call_sid"`
	From    string `json:"from"`
	To      string `json:"to"`
	Webhook string `json:"webhook"`
}

func newCallCmd(f *Factory) *cobra.Command {
	opts := &callOptions{}
	c := &cobra.Command{
		Use:   "call NUMBER",
		Short: "Have the agent call a phone (through the running callagent dev)",
		Long: `Place an outbound call through Twilio's REST API. When the phone answers, it is
connected to your agent: the running callagent dev (found through its saved state) or the
server at --public-url. The call appears in that dev's terminal like any other.

The call is placed from the number dev uses, or --number (a number of the account, as
in callagent dev --number).

stdout has the new call's SID; with --json, one JSON object: call_sid, from, to and
webhook (where Twilio sends the answered call).`,
		Example: `  callagent call +15551234567
  callagent call +15551234567 --public-url https://calls.example.com --number +14155550100
  callagent call +15551234567 --json | jq -r .call_sid`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			noteOldFlags(cmd, f.IO.ErrOut)
			if err := applyEnv(cmd, f.Env); err != nil {
				return err
			}
			opts.To = args[0]
			if err := checkE164("the number to call,", opts.To); err != nil {
				return err
			}
			if opts.Number != "" {
				if err := checkE164("--number", opts.Number); err != nil {
					return err
				}
			}
			if opts.PublicURL != "" {
				u, err := parsePublicURL(opts.PublicURL, false)
				if err != nil {
					return commandLineError(err)
				}
				opts.PublicURL = u
			}
			return callRun(cmd.Context(), f, opts)
		},
	}
	c.Flags().StringVar(&opts.Number, "number", "", "your Twilio number to call from, in E.164 (default: the number dev uses)")
	oldStringFlag(c.Flags(), &opts.Number, "", "from", "number")
	c.Flags().BoolVar(&opts.JSON, "json", false, "print the call as a JSON object (call_sid, from, to, webhook)")
	c.Flags().StringVar(&opts.PublicURL, "public-url", "", "the callagent server to connect the call to (default: the running dev)")
	return c
}

func callRun(ctx context.Context, f *Factory, o *callOptions) error {
	p, err := newProvisioner(f.Env)
	if err != nil {
		return err
	}
	from, webhook := o.Number, ""
	if o.PublicURL != "" {
		webhook = o.PublicURL + server.PathIncomingCall
		if from == "" {
			n, err := p.Find(ctx, "")
			if err != nil {
				return chooseNumber(err, "--number")
			}
			from = n.PhoneNumber
		}
	} else {
		s, err := runningDev(p, from)
		if err != nil {
			return err
		}
		webhook = s.Webhook
		from = s.Number.PhoneNumber
	}
	sid, err := p.Call(ctx, from, o.To, webhook)
	if err != nil {
		return err
	}
	fmt.Fprintf(f.IO.ErrOut, "Calling %s from %s: when it is answered, the agent at %s takes the call.\n", sanitize(o.To), sanitize(from), sanitize(webhook))
	if o.JSON {
		return writeJSON(f.IO.Out, placedCall{CallSID: sid, From: from, To: o.To, Webhook: webhook})
	}
	fmt.Fprintln(f.IO.Out, sanitize(sid))
	return nil
}

// runningDev finds the dev session to connect an outbound call to: the one using
// from, or the only one.
func runningDev(p *provision.Provisioner, from string) (provision.Session, error) {
	sessions, err := p.Sessions()
	if err != nil && len(sessions) == 0 {
		return provision.Session{}, err // a damaged state file, and no session to use
	}
	var match []provision.Session
	for _, s := range sessions {
		if from == "" || s.Number.PhoneNumber == from {
			match = append(match, s)
		}
	}
	switch {
	case len(match) == 1:
		return match[0], nil
	case len(match) == 0 && from != "":
		return provision.Session{}, fmt.Errorf("no callagent dev is running on %s: start one (callagent dev --number %s), or pass --public-url", from, from)
	case len(match) == 0:
		return provision.Session{}, errors.New("no callagent dev is running for this account: start one in another terminal (callagent dev), or pass --public-url")
	}
	var nums []string
	for _, s := range match {
		nums = append(nums, s.Number.PhoneNumber)
	}
	return provision.Session{}, commandLineError(fmt.Errorf("several callagent dev sessions are running (%s): choose one with --number", strings.Join(nums, ", ")))
}
