package calllog

import (
	"fmt"
	"slices"
	"strings"

	"github.com/callagent/callagent/pkg/callevent"
)

// Filter chooses namespaces the way the DEBUG variable of the Node "debug" package
// does: a comma- or space-separated list of names, * matching anything, and a
// leading - excluding (DEBUG=callagent:*,-callagent:realtime). Exclusions win.
// The zero Filter enables nothing.
type Filter struct {
	include, exclude []string // patterns
	spec             []string
}

// ParseFilter parses a DEBUG value. Names outside callagent: are kept (DEBUG is
// shared with other programs) and simply match nothing of ours.
func ParseFilter(spec string) Filter {
	var f Filter
	for _, name := range strings.FieldsFunc(spec, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		f.add(name)
	}
	return f
}

func (f *Filter) add(name string) {
	exclude := strings.HasPrefix(name, "-")
	pat := strings.TrimPrefix(name, "-")
	if pat == "" {
		return
	}
	if exclude {
		f.exclude = append(f.exclude, pat)
	} else {
		f.include = append(f.include, pat)
	}
	f.spec = append(f.spec, name)
}

// ParseDebugFlag parses --debug's short form: a comma list of namespace names
// without the callagent: prefix (twilio,realtime), "all", or full DEBUG patterns.
// Unknown short names are an error that lists the known ones.
func ParseDebugFlag(list string) (Filter, error) {
	var f Filter
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		neg := strings.HasPrefix(name, "-")
		bare := strings.TrimPrefix(name, "-")
		switch {
		case bare == "":
			continue
		case bare == "all" || bare == "*":
			bare = "callagent:*"
		case strings.Contains(bare, ":") || strings.Contains(bare, "*"):
		default:
			bare = "callagent:" + bare
			if !slices.Contains(callevent.Namespaces, bare) {
				return Filter{}, fmt.Errorf("--debug %s: unknown namespace; use %s or all", name, strings.Join(ShortNames(), ", "))
			}
		}
		if neg {
			bare = "-" + bare
		}
		f.add(bare)
	}
	return f, nil
}

// ShortNames are the namespaces without their callagent: prefix.
func ShortNames() []string {
	out := make([]string, len(callevent.Namespaces))
	for i, ns := range callevent.Namespaces {
		out[i] = strings.TrimPrefix(ns, "callagent:")
	}
	return out
}

// Merge returns a filter enabling what either enables (and excluding what either
// excludes).
func (f Filter) Merge(g Filter) Filter {
	return Filter{
		include: append(slices.Clip(f.include), g.include...),
		exclude: append(slices.Clip(f.exclude), g.exclude...),
		spec:    append(slices.Clip(f.spec), g.spec...),
	}
}

// Enabled reports whether debug events of namespace ns are shown.
func (f Filter) Enabled(ns string) bool {
	for _, p := range f.exclude {
		if match(p, ns) {
			return false
		}
	}
	for _, p := range f.include {
		if match(p, ns) {
			return true
		}
	}
	return false
}

// match reports whether s matches pattern, where * matches any run of bytes.
func match(pattern, s string) bool {
	first, rest, wild := strings.Cut(pattern, "*")
	if !wild {
		return pattern == s
	}
	if !strings.HasPrefix(s, first) {
		return false
	}
	s = s[len(first):]
	for {
		if match(rest, s) {
			return true
		}
		if s == "" {
			return false
		}
		s = s[1:]
	}
}

// Any reports whether any of callagent's namespaces is enabled.
func (f Filter) Any() bool {
	return slices.ContainsFunc(callevent.Namespaces, f.Enabled)
}

// String is the filter in DEBUG syntax.
func (f Filter) String() string { return strings.Join(f.spec, ",") }
