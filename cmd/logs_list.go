package cmd

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/callagent/callagent/pkg/calllog"
	"github.com/callagent/callagent/pkg/pricing"
)

// listColumn is a column of the calls' list: its cells as they are, how narrow
// it may get and how (elided in the middle, elided at the end, or another
// format), and whether it can go when the terminal is too narrow for all.
type listColumn struct {
	head, shortHead string
	cells, short    []string // short: the cells in a narrower format (STARTED)
	min             int      // elided down to this many cells (0: never elided)
	middle          bool     // elide in the middle (call SIDs, numbers: both ends matter)
	drop            int      // dropped in this order when even the narrowest table is too wide (0: never)
	// optional columns go first, before the others narrow below comfort (0:
	// their narrowest): a terminal of 100 shows how calls ended rather than the
	// number they called.
	optional bool
	comfort  int

	width int // as laid out
	alt   bool
}

func (c *listColumn) full() int {
	w := ansi.StringWidth(c.head)
	for _, s := range c.cells {
		w = max(w, ansi.StringWidth(s))
	}
	return w
}

// narrowest is the least width of the column: its short format and short head,
// its cells elided to min.
func (c *listColumn) narrowest() int {
	w := c.altWidth()
	if c.min > 0 {
		head := c.head
		if c.shortHead != "" {
			head = c.shortHead
		}
		w = min(w, max(c.min, ansi.StringWidth(head)))
	}
	return w
}

const listGap = "  "

// layoutList fits the columns to width (0: no limit, every cell whole): the
// columns that can go go first, least useful first, until the narrowest table
// fits; then, from the whole table, columns narrow one after the other (the
// call SID elided to its ends, the date shortened, the ending elided, the
// numbers elided, the latency's head shortened) only as much as needed. A table
// that cannot fit even so is written at its narrowest, whole: never broken.
func layoutList(cols []*listColumn, width int) []*listColumn {
	for _, c := range cols {
		c.width = c.full()
	}
	if width <= 0 {
		return cols
	}
	total := func(cs []*listColumn, w func(*listColumn) int) int {
		n := len(listGap) * (len(cs) - 1)
		for _, c := range cs {
			n += w(c)
		}
		return n
	}
	comfortable := func(c *listColumn) int { return max(c.narrowest(), min(c.full(), c.comfort)) }
	dropWhile := func(w func(*listColumn) int, optional bool) {
		for total(cols, w) > width {
			drop := -1
			for i, c := range cols {
				if c.drop > 0 && (!optional || c.optional) && (drop < 0 || c.drop < cols[drop].drop) {
					drop = i
				}
			}
			if drop < 0 {
				return
			}
			cols = append(cols[:drop:drop], cols[drop+1:]...)
		}
	}
	dropWhile(comfortable, true)
	dropWhile((*listColumn).narrowest, false)
	steps := []struct {
		head string
		to   func(*listColumn) int
	}{
		{"CALL SID", func(c *listColumn) int { return c.narrowest() }},
		{"STARTED", nil},
		{"ENDED", nil},
		{"ENDED", func(c *listColumn) int { return max(c.narrowest(), 24) }},
		{"FROM", func(c *listColumn) int { return c.narrowest() }},
		{"TO", func(c *listColumn) int { return c.narrowest() }},
		{"P50 LATENCY", nil},
		{"ENDED", func(c *listColumn) int { return c.narrowest() }},
	}
	for _, s := range steps {
		excess := total(cols, func(c *listColumn) int { return c.width }) - width
		if excess <= 0 {
			break
		}
		for _, c := range cols {
			if c.head != s.head {
				continue
			}
			if s.to == nil { // another format or head: all or nothing
				c.alt = true
				c.width = min(c.width, c.altWidth())
				continue
			}
			c.width = max(c.width-excess, min(c.width, s.to(c)))
		}
	}
	// What the greedy steps took beyond need goes back to the elided columns.
	spare := width - total(cols, func(c *listColumn) int { return c.width })
	for _, head := range []string{"ENDED", "FROM", "TO", "CALL SID"} {
		for _, c := range cols {
			if c.head == head && spare > 0 {
				w := c.full()
				if c.alt {
					w = c.altWidth()
				}
				add := min(spare, max(0, w-c.width))
				c.width += add
				spare -= add
			}
		}
	}
	return cols
}

// altWidth is the width of the column in its short format, not elided.
func (c *listColumn) altWidth() int {
	head, cells := c.head, c.cells
	if c.shortHead != "" {
		head = c.shortHead
	}
	if c.short != nil {
		cells = c.short
	}
	w := ansi.StringWidth(head)
	for _, s := range cells {
		w = max(w, ansi.StringWidth(s))
	}
	return w
}

// cell is row i of the column as laid out: padded, or elided with an ellipsis.
func (c *listColumn) cell(i int) string {
	s := c.cells[i]
	if c.alt && c.short != nil {
		s = c.short[i]
	}
	return c.fit(s)
}

func (c *listColumn) header() string {
	if c.alt && c.shortHead != "" || ansi.StringWidth(c.head) > c.width && c.shortHead != "" {
		return c.fit(c.shortHead)
	}
	return c.fit(c.head)
}

func (c *listColumn) fit(s string) string {
	w := ansi.StringWidth(s)
	switch {
	case w <= c.width:
		return s + strings.Repeat(" ", c.width-w)
	case c.middle && c.width >= 3:
		tail := (c.width-1)/2 - 1
		head := c.width - 1 - tail
		s = ansi.Truncate(s, head, "") + "…" + ansi.TruncateLeft(s, w-tail, "")
	default:
		s = ansi.Truncate(s, c.width, "…")
	}
	return s + strings.Repeat(" ", max(0, c.width-ansi.StringWidth(s)))
}

// writeList writes the calls' table, fitted to width (0: no limit).
func writeList(w io.Writer, calls []calllog.Call, now time.Time, width int) error {
	started := &listColumn{head: "STARTED"}
	sid := &listColumn{head: "CALL SID", min: 11, middle: true}
	from := &listColumn{head: "FROM", min: 12, middle: true}
	to := &listColumn{head: "TO", min: 12, middle: true, drop: 1, optional: true}
	dur := &listColumn{head: "DURATION"}
	ended := &listColumn{head: "ENDED", min: 14, comfort: 22}
	turns := &listColumn{head: "TURNS", drop: 2, optional: true}
	lat := &listColumn{head: "P50 LATENCY", shortHead: "P50", drop: 3}
	cost := &listColumn{head: "COST"}
	for _, c := range calls {
		t := c.Started.Local()
		started.cells = append(started.cells, t.Format("2006-01-02 15:04:05"))
		started.short = append(started.short, t.Format("01-02 15:04"))
		sid.cells = append(sid.cells, sanitize(c.CallSID))
		from.cells = append(from.cells, orDash(sanitize(c.From)))
		to.cells = append(to.cells, orDash(sanitize(c.To)))
		dur.cells = append(dur.cells, ms(c.Duration.Round(100*time.Millisecond)))
		words := endedWords(c, now)
		ended.cells = append(ended.cells, words)
		ended.short = append(ended.short, strings.TrimPrefix(words, "the "))
		turns.cells = append(turns.cells, fmt.Sprint(c.Turns))
		l := "-"
		if c.LatencyP50 > 0 {
			l = ms(c.LatencyP50)
		}
		lat.cells = append(lat.cells, l)
		k := "-"
		switch {
		case c.CostUSD != nil:
			k = pricing.FormatUSD(*c.CostUSD)
		case c.CostUnknown:
			k = "unknown"
		}
		cost.cells = append(cost.cells, k)
	}
	cols := layoutList([]*listColumn{started, sid, from, to, dur, ended, turns, lat, cost}, width)
	row := func(cell func(*listColumn) string) string {
		parts := make([]string, len(cols))
		for i, c := range cols {
			parts[i] = cell(c)
		}
		return strings.TrimRight(strings.Join(parts, listGap), " ") + "\n"
	}
	var b strings.Builder
	b.WriteString(row((*listColumn).header))
	for i := range calls {
		b.WriteString(row(func(c *listColumn) string { return c.cell(i) }))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
