package cmd

import (
	goversion "go/version"
	"runtime"
)

// toolchainWarning says, when this binary was built with a Go release that still
// trusts the compromised eMudhra CA keys (CVE-2026-111943), how to rebuild: TLS to
// Twilio, OpenAI and ngrok is verified with that trust store. "" otherwise.
func toolchainWarning() string { return toolchainWarningFor(runtime.Version()) }

func toolchainWarningFor(v string) string {
	if !goversion.IsValid(v) {
		return "" // a development toolchain: nothing to compare
	}
	old := goversion.Compare(v, "go1.26.10") < 0 ||
		goversion.Lang(v) == "go1.27" && goversion.Compare(v, "go1.27.3") < 0
	if !old {
		return ""
	}
	return "this callagent was built with " + v + ", which trusts the compromised eMudhra CA keys (CVE-2026-111943); " +
		"rebuild it with Go 1.26.10 or newer (GOTOOLCHAIN=auto fetches it), or install a release"
}
