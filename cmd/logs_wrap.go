package cmd

import (
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/term"
)

// terminalWidth is the width of f when it is a terminal, 0 when unknown.
func terminalWidth(f *os.File) int {
	w, _, err := term.GetSize(f.Fd())
	if err != nil || w <= 0 {
		return 0
	}
	return w
}

// outWidth is how wide stdout's lines may be: the terminal's width; COLUMNS
// when the terminal does not say; 80 when nothing does. 0 (no limit) when stdout
// is not a terminal: piped output is never cut or wrapped, so `callagent logs |
// grep` sees whole values.
func (f *Factory) outWidth() int {
	if !f.IO.OutTTY {
		return 0
	}
	if f.IO.Width != nil {
		if w := f.IO.Width(); w > 0 {
			return w
		}
	}
	if w, err := strconv.Atoi(strings.TrimSpace(f.Env.Getenv("COLUMNS"))); err == nil && w > 0 {
		return w
	}
	return 80
}

// hangWrap fits a line (ending in a newline) to width, its continuation lines
// indented by hang cells, so a long transcript line stays clear of the labels'
// column instead of going back to column 0. Styles are kept; width 0 leaves the
// line as it is.
func hangWrap(line string, width, hang int) string {
	body := strings.TrimSuffix(line, "\n")
	if width <= 0 || ansi.StringWidth(body) <= width || width-hang < 20 {
		return line
	}
	// The first hang cells (marker, label) lead; the text after them wraps in
	// the column beside.
	lead, text := ansi.Truncate(body, hang, ""), ansi.TruncateLeft(body, hang, "")
	pad := "\n" + strings.Repeat(" ", hang)
	return lead + strings.ReplaceAll(ansi.Wrap(text, width-hang, ""), "\n", pad) + "\n"
}

// fit is how the printer writes a rendered line: wrapped to its width with a
// hanging indent past the call marker and the label (or the indent) of the line.
func (p *printer) fit(prefix, line string) string {
	if p.width <= 0 {
		return prefix + line
	}
	hang := ansi.StringWidth(prefix) + len(indent)
	if strings.HasPrefix(ansi.Strip(line), "●") {
		hang = ansi.StringWidth(prefix) + 2
	}
	return hangWrap(prefix+line, p.width, hang)
}

// hangWriter writes the server's records (one line per Write) as the printer
// writes events: wrapped past their label on a terminal.
type hangWriter struct{ v *logView }

func (h hangWriter) Write(b []byte) (int, error) {
	if _, err := io.WriteString(h.v.f.IO.Out, hangWrap(string(b), h.v.f.outWidth(), len(indent))); err != nil {
		return 0, err
	}
	return len(b), nil
}
