package telemetry

import (
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Transport wraps base (nil: http.DefaultTransport) so that each request is a
// client span: method, the path as a template (SIDs replaced by their kind, so
// /Calls/CA….json is /Calls/{CallSid}.json), status. A request about a call
// (its path names a CallSid) is a child of that call's span; others are children
// of the context's span or traces of their own. Meant for Twilio's REST API
// (twiliorest.Options.HTTPClient); it sends no trace header to Twilio. With
// tracing off (a nil Tracer) it returns base unchanged.
func (t *Tracer) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	if t == nil {
		return base
	}
	return &transport{t: t, base: base}
}

type transport struct {
	t    *Tracer
	base http.RoundTripper
}

func (tr *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	tmpl, callSID := pathTemplate(req.URL.Path)
	ctx := req.Context()
	if callSID != "" && !trace.SpanContextFromContext(ctx).IsValid() {
		ctx = trace.ContextWithRemoteSpanContext(ctx, tr.t.callSpanContext(callSID))
	}
	_, span := tr.t.tracer.Start(ctx, "twilio "+req.Method+" "+tmpl, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String(attrMethod, req.Method), attribute.String(attrURLTemplate, tmpl),
			attribute.String(attrServer, req.URL.Hostname())))
	if callSID != "" {
		span.SetAttributes(attribute.String(attrCallSID, callSID))
	}
	defer span.End()
	resp, err := tr.base.RoundTrip(req)
	if err != nil {
		// Transport errors name hosts and addresses, never credentials (the
		// request's Basic auth is a header).
		span.SetStatus(codes.Error, "request failed")
		return resp, err
	}
	span.SetAttributes(attribute.Int(attrStatusCode, resp.StatusCode))
	if resp.StatusCode >= 400 {
		span.SetStatus(codes.Error, http.StatusText(resp.StatusCode))
	}
	return resp, nil
}

// pathTemplate replaces the SIDs of a Twilio path by their kind ({AccountSid},
// {CallSid}, {PhoneNumberSid}…) and returns the call's SID when one is named.
func pathTemplate(path string) (tmpl, callSID string) {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		base, ext, _ := strings.Cut(p, ".")
		kind, ok := sidKind(base)
		if !ok {
			continue
		}
		if kind == "CallSid" && callSID == "" {
			callSID = base
		}
		parts[i] = "{" + kind + "}"
		if ext != "" {
			parts[i] += "." + ext
		}
	}
	return strings.Join(parts, "/"), callSID
}

// sidKind tells a Twilio SID (two capital letters and 32 hexadecimal digits) and
// what it names.
func sidKind(s string) (string, bool) {
	if len(s) != 34 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' {
		return "", false
	}
	for _, c := range s[2:] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return "", false
		}
	}
	switch s[:2] {
	case "AC":
		return "AccountSid", true
	case "CA":
		return "CallSid", true
	case "PN":
		return "PhoneNumberSid", true
	}
	return "Sid", true
}
