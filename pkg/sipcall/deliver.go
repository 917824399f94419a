package sipcall

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// WebhookUserAgent is the User-Agent of OpenAI's webhook deliveries (the realtime-sip
// guide's example request).
const WebhookUserAgent = "OpenAI/1.0 (+https://platform.openai.com/docs/webhooks)"

// Delivery is one attempt to deliver a webhook.
type Delivery struct {
	Status int   // HTTP status, 0 when none came
	Err    error // transport error
}

// DeliverOptions say where and how a twin delivers an incoming-call webhook.
type DeliverOptions struct {
	// URL and Secret are the project's webhook endpoint and its signing secret.
	URL, Secret string
	// BadSignature signs with another key, Unsigned sends no signature headers,
	// Stale signs with a timestamp outside Tolerance: what forged or replayed
	// webhooks look like.
	BadSignature, Unsigned, Stale bool
	// Attempts bounds the deliveries (default 3: the first and two retries);
	// RetryDelay is the wait before the first retry, doubled after (default 100 ms;
	// OpenAI's are longer).
	Attempts   int
	RetryDelay time.Duration
	// HTTPClient delivers (default http.DefaultClient).
	HTTPClient *http.Client
}

// forgedSecret is a stranger's key ("forged-by-a-stranger").
const forgedSecret = SecretPrefix + "Zm9yZ2VkLWJ5LWEtc3RyYW5nZXI="

// Deliver posts a webhook body the way OpenAI does, for the twins of both engines:
// the same webhook-id on every attempt, a fresh timestamp and signature each time
// ("webhook-timestamp: timestamp of delivery attempt", realtime-sip guide), until a
// 2xx, the attempts are used, more() turns false (the call stopped ringing) or ctx
// ends. record is told of each attempt.
func Deliver(ctx context.Context, o DeliverOptions, webhookID string, body []byte, more func() bool, record func(Delivery)) error {
	hc := o.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	attempts := o.Attempts
	if attempts <= 0 {
		attempts = 3
	}
	wait := o.RetryDelay
	if wait <= 0 {
		wait = 100 * time.Millisecond
	}
	var last error
	for try := 1; try <= attempts; try++ {
		if try > 1 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			wait *= 2
			if !more() {
				return fmt.Errorf("webhook not delivered before the call stopped ringing: %w", last)
			}
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.URL, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("User-Agent", WebhookUserAgent)
		req.Header.Set("Content-Type", "application/json")
		if !o.Unsigned {
			secret, ts := o.Secret, time.Now()
			if o.BadSignature {
				secret = forgedSecret
			}
			if o.Stale {
				ts = ts.Add(-2 * Tolerance)
			}
			h, err := Sign(secret, webhookID, ts, body)
			if err != nil {
				return fmt.Errorf("sign the webhook: %w", err)
			}
			for k, v := range h {
				req.Header[k] = v
			}
		}
		resp, err := hc.Do(req)
		if err != nil {
			record(Delivery{Err: err})
			last = err
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		record(Delivery{Status: resp.StatusCode})
		if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
			return nil
		}
		last = fmt.Errorf("webhook answered HTTP %d", resp.StatusCode)
	}
	return fmt.Errorf("webhook not delivered after %d attempts: %w", attempts, last)
}
