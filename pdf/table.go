package pdf

import (
	"fmt"
	"io"
	"iter"
)

// Table geometry in points.
const (
	cellPad    = 3.0
	headRowH   = 14.0
	textLineH  = 10.0
	badgeLineH = 11.0
	noteLineH  = 9.5
	badgePad   = 3.0
)

// column is one table column: its header title, width in points and
// whether its values are right-aligned (numbers).
type column struct {
	title string
	width float64
	right bool
}

// cellLine is one line of a table cell: plain text, or a slice of a
// coloured badge when badge is set, or an empty gap when text is empty.
type cellLine struct {
	text   string
	font   font
	color  rgb
	h      float64
	badge  bool
	bg     rgb
	badgeW float64
}

// cell is the content of one table cell, drawn top to bottom.
type cell []cellLine

// table draws rows under a header row that is repeated on every page the
// table spans.
type table struct {
	d    *doc
	cols []column
	// caption, when set, is drawn above the repeated header row on every
	// page after the first.
	caption string
}

// startTable draws the header row, after starting a new page if there is
// no room for the header and a first row. On every later page the table
// spans, caption (when not empty) and the header row are drawn again.
func (d *doc) startTable(cols []column, caption string) *table {
	t := &table{d: d, cols: cols, caption: caption}
	d.ensure(headRowH + 2*textLineH + 2*cellPad)
	t.header()
	d.onNewPage = t.continued
	return t
}

// continued draws the caption and header row at the top of a new page.
func (t *table) continued() {
	if t.caption != "" {
		t.d.text(marginX, t.d.y, t.d.fit(t.caption, contentW, fontSmall), fontSmall, colMuted)
		t.d.y += 11
	}
	t.header()
}

// end stops repeating the header row on new pages.
func (t *table) end() {
	t.d.onNewPage = nil
	t.d.y += 10
}

// header draws the header row at the cursor.
func (t *table) header() {
	d := t.d
	d.rect(marginX, d.y, contentW, headRowH, colHeadBg)
	x := marginX
	for _, c := range t.cols {
		title := d.fit(c.title, c.width-2*cellPad, fontHead)
		if c.right {
			d.textRight(x+c.width-cellPad, d.y+3, title, fontHead, colText)
		} else {
			d.text(x+cellPad, d.y+3, title, fontHead, colText)
		}
		x += c.width
	}
	d.y += headRowH
}

// textCell wraps s into the width of column i.
func (t *table) textCell(i int, s string) cell {
	var c cell
	for _, l := range t.d.wrap(s, t.cols[i].width-2*cellPad, fontCell) {
		c = append(c, cellLine{text: l, font: fontCell, color: colText, h: textLineH})
	}
	return c
}

// textRow wraps each value into its column.
func (t *table) textRow(values ...string) []cell {
	cells := make([]cell, len(values))
	for i, v := range values {
		cells[i] = t.textCell(i, v)
	}
	return cells
}

// badge returns the lines of a badge reading s with colours bg and fg,
// wrapped into the width of column i.
func (t *table) badge(i int, s string, bg, fg rgb) cell {
	f := fontBadge
	lines := t.d.wrap(s, t.cols[i].width-2*cellPad-2*badgePad, f)
	w := 0.0
	for _, l := range lines {
		w = max(w, t.d.width(l, f))
	}
	c := make(cell, 0, len(lines))
	for _, l := range lines {
		c = append(c, cellLine{text: l, font: f, color: fg, h: badgeLineH, badge: true, bg: bg, badgeW: w + 2*badgePad})
	}
	return c
}

// note returns s as small muted lines wrapped into column i.
func (t *table) note(i int, s string) cell {
	var c cell
	for _, l := range t.d.wrap(s, t.cols[i].width-2*cellPad, fontSmall) {
		c = append(c, cellLine{text: l, font: fontSmall, color: colMuted, h: noteLineH})
	}
	return c
}

// gap is vertical space between items of a cell.
func gap(h float64) cellLine { return cellLine{h: h} }

// row draws one row. A row that does not fit below the cursor moves to a
// new page; a row taller than a whole page is split across pages, each
// part under a repeated header row.
func (t *table) row(cells []cell) {
	d := t.d
	if d.err != nil {
		return
	}
	total := 0.0
	for _, c := range cells {
		h := 0.0
		for _, l := range c {
			h += l.h
		}
		total = max(total, h)
	}
	total += 2 * cellPad
	fresh := contentBot - contentTop - headRowH
	if d.y+total > contentBot && (total <= fresh || contentBot-d.y < 4*textLineH) {
		d.newPage()
	}
	next := make([]int, len(cells))
	for {
		top := d.y + cellPad
		avail := contentBot - top - cellPad
		used := 0.0
		done := true
		x := marginX
		for i, c := range cells {
			h := 0.0
			for next[i] < len(c) && h+c[next[i]].h <= avail {
				t.drawLine(x, top+h, i, c[next[i]])
				h += c[next[i]].h
				next[i]++
			}
			used = max(used, h)
			if next[i] < len(c) {
				done = false
			}
			x += t.cols[i].width
		}
		d.y = top + used + cellPad
		d.rule(d.y)
		if done || d.err != nil {
			return
		}
		d.newPage()
	}
}

// drawLine draws one cell line with its top-left corner at x, y in
// column i.
func (t *table) drawLine(x, y float64, i int, l cellLine) {
	d := t.d
	if l.text == "" {
		return
	}
	col := t.cols[i]
	switch {
	case l.badge:
		d.rect(x+cellPad, y, l.badgeW, l.h, l.bg)
		d.text(x+cellPad+badgePad, y+(l.h-l.font.size())/2, l.text, l.font, l.color)
	case col.right:
		d.textRight(x+col.width-cellPad, y+(l.h-l.font.size())/2, l.text, l.font, l.color)
	default:
		d.text(x+cellPad, y+(l.h-l.font.size())/2, l.text, l.font, l.color)
	}
}

// writeTableReport is the body of every one-table report: rows drawn one
// at a time as the iterator yields them (nil rows skipped), the table
// started at the first row, a message when there is none. what names the
// rows in a wrapped iterator error.
func writeTableReport[T any](w io.Writer, meta Meta, rows iter.Seq2[*T, error], what string, cols func() []column, cells func(t *table, r *T) []cell) error {
	d, err := newDoc(meta)
	if err != nil {
		return err
	}
	var t *table
	var sealed sealedRange
	for r, err := range rows {
		if err != nil {
			return fmt.Errorf("pdf: reading %s: %w", what, err)
		}
		if r == nil {
			continue
		}
		sealed.addRow(r)
		if t == nil {
			t = d.startTable(cols(), "")
		}
		t.row(cells(t, r))
		if d.err != nil {
			return d.err
		}
	}
	if t == nil {
		d.message(emptyMessage)
	} else {
		t.end()
	}
	d.sealedLine(&sealed)
	return d.finish(w)
}
