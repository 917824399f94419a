package agent

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Issue is one problem found in a configuration.
type Issue struct {
	File    string
	Line    int // 0 when unknown (a configuration built in Go)
	Column  int
	Message string
}

func (i Issue) String() string {
	switch {
	case i.File == "" && i.Line == 0:
		return "config: " + i.Message
	case i.Line == 0:
		return i.File + ": " + i.Message
	}
	return fmt.Sprintf("%s:%d:%d: %s", i.File, i.Line, i.Column, i.Message)
}

// Error lists every problem of a configuration, one per line.
type Error struct {
	Issues []Issue
}

func (e *Error) Error() string {
	lines := make([]string, len(e.Issues))
	for i, is := range e.Issues {
		lines[i] = is.String()
	}
	return strings.Join(lines, "\n")
}

// decoder turns a YAML node tree into Go values strictly: unknown keys, duplicate
// keys and wrong types are issues with their position, and decoding goes on so that
// one run reports every problem. It remembers where each field was written, so later
// checks can point at it too.
type decoder struct {
	file   string
	issues []Issue
	lines  map[fieldKey]*yaml.Node
}

type fieldKey struct {
	ptr uintptr
	typ reflect.Type
	key string // for map entries
}

func (d *decoder) add(n *yaml.Node, format string, args ...any) {
	is := Issue{File: d.file, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		is.Line, is.Column = n.Line, n.Column
	}
	d.issues = append(d.issues, is)
}

// remember records that the value at v came from n.
func (d *decoder) remember(v reflect.Value, n *yaml.Node) {
	if v.CanAddr() {
		d.lines[fieldKey{ptr: v.Addr().Pointer(), typ: v.Type()}] = n
	}
}

// nodeOf returns the node a field came from, or nil. p is a pointer to the field.
func (d *decoder) nodeOf(p any) *yaml.Node {
	if d == nil {
		return nil
	}
	v := reflect.ValueOf(p)
	return d.lines[fieldKey{ptr: v.Pointer(), typ: v.Type().Elem()}]
}

// nodeOfEntry returns the node of a map entry's value.
func (d *decoder) nodeOfEntry(m any, key string) *yaml.Node {
	if d == nil {
		return nil
	}
	return d.lines[fieldKey{ptr: reflect.ValueOf(m).Pointer(), key: key}]
}

// nodeDecoder is implemented by types with their own YAML forms.
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, path string)
}

var nodeDecoderType = reflect.TypeFor[nodeDecoder]()

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	d.remember(v, n)
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if v.CanAddr() && v.Addr().Type().Implements(nodeDecoderType) {
		v.Addr().Interface().(nodeDecoder).decodeNode(d, n, path)
		return
	}
	if isNull(n) && (v.Kind() == reflect.Pointer || v.Kind() == reflect.Slice || v.Kind() == reflect.Map) {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.add(n, "%s: want a list (- item per line), got %s", path, describe(n))
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content)))
		for i, item := range n.Content {
			d.decode(item, v.Index(i), elemPath(path, i, item))
		}
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
			d.add(n, "%s: want text, got %s%s", path, describe(n), quoteHint(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
			d.add(n, "%s: want true or false, got %s", path, describe(n))
			return
		}
		v.SetBool(b)
	case reflect.Int:
		var i int
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&i) != nil {
			d.add(n, "%s: want a whole number, got %s", path, describe(n))
			return
		}
		v.SetInt(int64(i))
	case reflect.Float64:
		var f float64
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!float" && n.Tag != "!!int") || n.Decode(&f) != nil {
			d.add(n, "%s: want a number, got %s", path, describe(n))
			return
		}
		v.SetFloat(f)
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.add(n, "%s: %v", path, err)
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
	default:
		d.add(n, "%s: unsupported field type %s", path, v.Type())
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.add(n, "%s: want a mapping (key: value lines), got %s", path, describe(n))
		return
	}
	fields := yamlFields(v.Type())
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		name := k.Value
		if prev, dup := seen[name]; dup {
			d.add(k, "%s: %q is set twice (first on line %d): keep one", path, name, prev.Line)
			continue
		}
		seen[name] = k
		idx, ok := fields[name]
		if !ok {
			where := path + ": unknown key"
			if path == "" {
				where = "unknown top-level key"
			}
			d.add(k, "%s %q%s", where, name, suggest(name, keys(fields), "the keys here are"))
			continue
		}
		d.decode(val, v.Field(idx), join(path, name))
	}
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.add(n, "%s: want a mapping (key: value lines), got %s", path, describe(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if prev, dup := seen[k.Value]; dup {
			d.add(k, "%s: %q is set twice (first on line %d): keep one", path, k.Value, prev.Line)
			continue
		}
		seen[k.Value] = k
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, elem, join(path, k.Value))
		v.SetMapIndex(reflect.ValueOf(k.Value), elem)
		d.lines[fieldKey{ptr: v.Pointer(), key: k.Value}] = val
	}
}

// yamlFields maps yaml tag names to field indexes.
func yamlFields(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		m[tag] = i
	}
	return m
}

func keys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// describe names what a node is, for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.Tag {
	case "!!str":
		return fmt.Sprintf("text %q", n.Value)
	case "!!int", "!!float":
		return "the number " + n.Value
	case "!!bool":
		return n.Value
	case "!!null":
		return "nothing"
	}
	return n.Value
}

func quoteHint(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return fmt.Sprintf(" (quote it to make it text: %q)", n.Value)
	}
	return ""
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// elemPath names a list element by its name key when it has one.
func elemPath(path string, i int, n *yaml.Node) string {
	if n.Kind == yaml.MappingNode {
		for j := 0; j+1 < len(n.Content); j += 2 {
			if n.Content[j].Value == "name" && n.Content[j+1].Kind == yaml.ScalarNode && n.Content[j+1].Value != "" {
				return fmt.Sprintf("%s[%s]", path, n.Content[j+1].Value)
			}
		}
	}
	return fmt.Sprintf("%s[%d]", path, i)
}

// suggest returns `: did you mean "x"?` for the closest of known, or lists them
// after intro ("the keys here are").
func suggest(got string, known []string, intro string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := distance(strings.ToLower(got), k); d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf(": did you mean %q?", best)
	}
	if len(known) == 0 {
		return ""
	}
	return ": " + intro + " " + strings.Join(known, ", ")
}

// distance is the Levenshtein distance.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func (g *Greeting) decodeNode(d *decoder, n *yaml.Node, path string) {
	g.set = true
	switch {
	case isNull(n):
		g.set = false
	case n.Kind == yaml.ScalarNode && n.Tag == "!!bool":
		g.Enabled = n.Value == "true"
	case n.Kind == yaml.ScalarNode && n.Tag == "!!str":
		g.Enabled, g.Say = true, n.Value
	case n.Kind == yaml.MappingNode:
		var m struct {
			Say          string `yaml:"say"`
			Instructions string `yaml:"instructions"`
		}
		d.decodeStruct(n, reflect.ValueOf(&m).Elem(), path)
		g.Enabled, g.Say, g.Instructions = true, m.Say, m.Instructions
		if m.Say != "" && m.Instructions != "" {
			d.add(n, "%s: set say (the exact words) or instructions (how to greet), not both", path)
		}
	default:
		d.add(n, "%s: want false, the words to say, or {say: ...} / {instructions: ...}; got %s", path, describe(n))
	}
}

func (t *Transcription) decodeNode(d *decoder, n *yaml.Node, path string) {
	switch {
	case isNull(n):
	case n.Kind == yaml.ScalarNode && n.Tag == "!!bool":
		t.Disabled = n.Value == "false"
	case n.Kind == yaml.MappingNode:
		var m struct {
			Model    string `yaml:"model"`
			Language string `yaml:"language"`
			Prompt   string `yaml:"prompt"`
		}
		d.decodeStruct(n, reflect.ValueOf(&m).Elem(), path)
		t.Model, t.Language, t.Prompt = m.Model, m.Language, m.Prompt
	default:
		d.add(n, "%s: want false or {model: ..., language: ...}; got %s", path, describe(n))
	}
}

func (du *Duration) decodeNode(d *decoder, n *yaml.Node, path string) {
	if isNull(n) {
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		v, err := time.ParseDuration(n.Value)
		if err == nil && v >= 0 {
			*du = Duration(v)
			return
		}
	}
	d.add(n, "%s: want a duration such as 30s, 5m or 1h30m; got %s", path, describe(n))
}

func (v *Voice) decodeNode(d *decoder, n *yaml.Node, path string) {
	switch {
	case isNull(n):
	case n.Kind == yaml.ScalarNode && n.Tag == "!!str":
		*v = Voice(n.Value)
	case n.Kind == yaml.MappingNode:
		var m struct {
			ID string `yaml:"id"`
		}
		d.decodeStruct(n, reflect.ValueOf(&m).Elem(), path)
		switch {
		case m.ID == "":
			d.add(n, "%s: a custom voice needs its id: {id: voice_1234}", path)
		case !Voice(m.ID).Custom():
			d.add(n, "%s: id %q is not a custom voice's id (they begin with voice_); for a built-in voice write its name: voice: marin", path, m.ID)
		default:
			*v = Voice(m.ID)
		}
	default:
		d.add(n, "%s: want a voice's name (marin) or a custom voice {id: voice_1234}; got %s", path, describe(n))
	}
}

func (t *Tracing) decodeNode(d *decoder, n *yaml.Node, path string) {
	switch {
	case n.Kind == yaml.ScalarNode && n.Value == "auto":
	case n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "group_id" {
				d.add(n.Content[i], "%s.group_id: callagent sets the group to each call's CallSid, so a call is found by it: remove group_id", path)
				n = &yaml.Node{Kind: n.Kind, Tag: n.Tag, Line: n.Line, Column: n.Column,
					Content: append(append([]*yaml.Node{}, n.Content[:i]...), n.Content[i+2:]...)}
				break
			}
		}
		var m struct {
			WorkflowName string            `yaml:"workflow_name"`
			Metadata     map[string]string `yaml:"metadata"`
		}
		d.decodeStruct(n, reflect.ValueOf(&m).Elem(), path)
		t.WorkflowName, t.Metadata = m.WorkflowName, m.Metadata
	default:
		d.add(n, "%s: want auto or {workflow_name: ..., metadata: {key: value}}; got %s", path, describe(n))
	}
}

func (t *Truncation) decodeNode(d *decoder, n *yaml.Node, path string) {
	switch {
	case n.Kind == yaml.ScalarNode && (n.Value == "auto" || n.Value == "disabled"):
		t.Mode = n.Value
	case n.Kind == yaml.MappingNode:
		var m struct {
			Type           string   `yaml:"type"`
			RetentionRatio *float64 `yaml:"retention_ratio"`
			TokenLimits    struct {
				PostInstructions int `yaml:"post_instructions"`
			} `yaml:"token_limits"`
		}
		d.decodeStruct(n, reflect.ValueOf(&m).Elem(), path)
		t.Mode, t.PostInstructions = "retention_ratio", m.TokenLimits.PostInstructions
		switch {
		case m.Type != "" && m.Type != "retention_ratio":
			d.add(n, "%s.type %q: the only object form is retention_ratio (or write truncation: auto / disabled)", path, m.Type)
		case m.RetentionRatio == nil:
			d.add(n, "%s: add retention_ratio, the fraction of the conversation kept when it is cut (0.8 keeps 80%%)", path)
		case *m.RetentionRatio < 0 || *m.RetentionRatio > 1:
			d.add(n, "%s.retention_ratio %g: use a value from 0 to 1 (0.8 keeps 80%% of the conversation)", path, *m.RetentionRatio)
		default:
			t.RetentionRatio = *m.RetentionRatio
		}
		if m.TokenLimits.PostInstructions < 0 {
			d.add(n, "%s.token_limits.post_instructions cannot be negative", path)
		}
	default:
		d.add(n, "%s: want auto, disabled or {retention_ratio: 0.8}; got %s", path, describe(n))
	}
}
