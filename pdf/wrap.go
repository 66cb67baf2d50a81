package pdf

import (
	"fmt"
	"strings"
)

// measureSize is the font size at which rune widths are measured; widths
// scale linearly with the size.
const measureSize = 100

// runeWidth is the advance of r at size 1, measured once per document
// with gopdf's MeasureTextWidth and cached.
func (d *doc) runeWidth(r rune, bold bool) float64 {
	i := 0
	if bold {
		i = 1
	}
	if w, ok := d.widths[i][r]; ok {
		return w
	}
	if d.err != nil {
		return 0
	}
	prev, prevSet := d.cur, d.curSet
	if bold {
		d.setFont(fontMeasureBold)
	} else {
		d.setFont(fontMeasure)
	}
	w, err := d.pdf.MeasureTextWidth(string(r))
	if err != nil {
		d.err = fmt.Errorf("pdf: measuring text: %w", err)
		return 0
	}
	if prevSet {
		d.setFont(prev)
	}
	w /= measureSize
	d.widths[i][r] = w
	return w
}

// width is the width of s drawn in font f.
func (d *doc) width(s string, f font) float64 {
	w := 0.0
	for _, r := range s {
		w += d.runeWidth(r, f.bold())
	}
	return w * f.size()
}

// wrap breaks s into lines no wider than width in font f: at spaces when
// it can, inside a word when the word alone is too wide, and always at
// newlines. It never loses a character other than the spaces it breaks
// at. Empty text gives no lines.
func (d *doc) wrap(s string, width float64, f font) []string {
	var lines []string
	space := d.width(" ", f)
	for para := range strings.SplitSeq(s, "\n") {
		var line strings.Builder
		lineW := 0.0
		flush := func() {
			lines = append(lines, line.String())
			line.Reset()
			lineW = 0
		}
		for word := range strings.SplitSeq(para, " ") {
			ww := d.width(word, f)
			switch {
			case line.Len() > 0 && lineW+space+ww <= width:
				line.WriteByte(' ')
				line.WriteString(word)
				lineW += space + ww
				continue
			case line.Len() > 0:
				flush()
			}
			if ww <= width {
				line.WriteString(word)
				lineW = ww
				continue
			}
			// The word alone is too wide: break it between runes.
			for _, r := range word {
				rw := d.runeWidth(r, f.bold()) * f.size()
				if line.Len() > 0 && lineW+rw > width {
					flush()
				}
				line.WriteRune(r)
				lineW += rw
			}
		}
		if line.Len() > 0 {
			flush()
		}
	}
	return lines
}

// fit cuts s to one line no wider than width in font f, ending with "…"
// when it had to cut.
func (d *doc) fit(s string, width float64, f font) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if d.width(s, f) <= width {
		return s
	}
	limit := width - d.width(ellipsis, f)
	w := 0.0
	for i, r := range s {
		w += d.runeWidth(r, f.bold()) * f.size()
		if w > limit {
			return s[:i] + ellipsis
		}
	}
	return s
}
