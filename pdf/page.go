package pdf

import (
	"fmt"
	"io"
	"time"

	"github.com/signintech/gopdf"
)

// Page geometry in points (A4 is 595 × 842 pt).
const (
	pageW        = 595.0
	pageH        = 842.0
	marginX      = 40.0
	contentW     = pageW - 2*marginX
	headerY      = 24.0
	contentTop   = 56.0
	contentBot   = pageH - 48.0
	footerY      = pageH - 34.0
	emptyMessage = "No rows match these filters."
)

// rgb is a colour as 0xRRGGBB.
type rgb uint32

// split returns the red, green and blue components of c.
func (c rgb) split() (r, g, b uint8) { return uint8(c >> 16), uint8(c >> 8), uint8(c) }

// Colours used by every report.
const (
	colText    rgb = 0x212529
	colMuted   rgb = 0x6c757d
	colWhite   rgb = 0xffffff
	colRule    rgb = 0xc8ccd0
	colHeadBg  rgb = 0xe9ecef
	colSuccess rgb = 0x198754
	colFailure rgb = 0xdc3545
	colPending rgb = 0xc88c00
	colMissing rgb = 0xced4da
	colBar     rgb = 0x0d6efd
	colBarAlt  rgb = 0x6f42c1
)

// font is one face and size used in reports.
type font uint8

// Fonts used by every report. fontMeasure and fontMeasureBold are only
// used to measure rune widths.
const (
	fontBody font = iota
	fontBold
	fontSmall
	fontCell
	fontHead
	fontBadge
	fontTitle
	fontMeasure
	fontMeasureBold
)

// size is the font size in points.
func (f font) size() float64 {
	switch f {
	case fontSmall, fontBadge:
		return 7.5
	case fontCell, fontHead:
		return 8
	case fontTitle:
		return 13
	case fontMeasure, fontMeasureBold:
		return measureSize
	}
	return 9
}

// bold reports whether f uses the bold face.
func (f font) bold() bool {
	switch f {
	case fontBold, fontHead, fontBadge, fontTitle, fontMeasureBold:
		return true
	}
	return false
}

// doc is one report being built: the gopdf document, the page counter and
// the vertical cursor. Its first error sticks: once err is set, every
// drawing method does nothing, and finish returns the error.
type doc struct {
	pdf    *gopdf.GoPdf
	title  string
	meta   Meta
	page   int
	y      float64
	err    error
	cur    font // valid when curSet
	curSet bool
	widths [2]map[rune]float64 // rune advance at size 1, regular and bold
	// onNewPage, when set, runs after the header of every new page, so a
	// table can repeat its header row.
	onNewPage func()
}

// newDoc starts an A4 document with the Go fonts, draws the first page's
// header and the filters block.
func newDoc(meta Meta) (*doc, error) {
	p := &gopdf.GoPdf{}
	p.Start(gopdf.Config{PageSize: *gopdf.PageSizeA4, Unit: gopdf.UnitPT})
	if err := loadFonts(p); err != nil {
		return nil, err
	}
	generated := meta.GeneratedAt
	if generated.IsZero() {
		generated = time.Now()
	}
	generated = generated.UTC()
	title := clean(meta.Title)
	if title == "" {
		title = "Audit report"
	}
	p.SetInfo(gopdf.PdfInfo{Title: title, Creator: "gin-audit-trail", Producer: "gopdf", CreationDate: generated})
	d := &doc{
		pdf:    p,
		title:  title,
		meta:   meta,
		widths: [2]map[rune]float64{{}, {}},
	}
	d.newPage()
	d.intro(meta.Filters, generated)
	return d, d.err
}

// intro draws the report title, generation time and filters on page one.
func (d *doc) intro(filters []Filter, generated time.Time) {
	for _, l := range d.wrap(d.title, contentW, fontTitle) {
		d.text(marginX, d.y, l, fontTitle, colText)
		d.y += 17
	}
	d.y += 2
	d.field("Generated at", generated.Format("2006-01-02 15:04:05")+" UTC", 90)
	if len(filters) == 0 {
		d.field("Filters", "none", 90)
	}
	for i, f := range filters {
		label := ""
		if i == 0 {
			label = "Filters"
		}
		d.field(label, clean(f.Label)+": "+clean(f.Value), 90)
	}
	d.y += 6
	d.rule(d.y)
	d.y += 10
}

// newPage starts a page and draws its header (the title) and footer
// ("Page N").
func (d *doc) newPage() {
	if d.err != nil {
		return
	}
	d.pdf.AddPage()
	d.page++
	d.text(marginX, headerY, d.fit(d.title, contentW-60, fontBold), fontBold, colText)
	d.rule(headerY + 16)
	footer := fmt.Sprintf("Page %d", d.page)
	d.text(pageW/2-d.width(footer, fontSmall)/2, footerY, footer, fontSmall, colMuted)
	d.y = contentTop
	if d.onNewPage != nil {
		d.onNewPage()
	}
}

// ensure starts a new page unless h points fit below the cursor. It
// reports whether it started one.
func (d *doc) ensure(h float64) bool {
	if d.y+h <= contentBot {
		return false
	}
	d.newPage()
	return true
}

// setFont makes f the current font.
func (d *doc) setFont(f font) {
	if d.err != nil || (d.curSet && d.cur == f) {
		return
	}
	style := ""
	if f.bold() {
		style = "B"
	}
	if err := d.pdf.SetFont(fontFamily, style, f.size()); err != nil {
		d.err = fmt.Errorf("pdf: setting font: %w", err)
		return
	}
	d.cur, d.curSet = f, true
}

// text draws s with its top-left corner at x, y.
func (d *doc) text(x, y float64, s string, f font, c rgb) {
	if d.err != nil || s == "" {
		return
	}
	d.setFont(f)
	d.pdf.SetTextColor(c.split())
	d.pdf.SetXY(x, y)
	if err := d.pdf.Cell(&gopdf.Rect{W: d.width(s, f) + 1, H: f.size()}, s); err != nil && d.err == nil {
		d.err = fmt.Errorf("pdf: drawing text: %w", err)
	}
}

// textRight draws s right-aligned so that it ends at x.
func (d *doc) textRight(x, y float64, s string, f font, c rgb) {
	d.text(x-d.width(s, f), y, s, f, c)
}

// rect fills a rectangle given by its top-left corner and size.
func (d *doc) rect(x, y, w, h float64, c rgb) {
	if d.err != nil || w <= 0 || h <= 0 {
		return
	}
	d.pdf.SetFillColor(c.split())
	d.pdf.RectFromUpperLeftWithStyle(x, y, w, h, "F")
}

// rule draws a thin horizontal line across the content width at y.
func (d *doc) rule(y float64) {
	if d.err != nil {
		return
	}
	d.pdf.SetLineWidth(0.5)
	d.pdf.SetStrokeColor(colRule.split())
	d.pdf.Line(marginX, y, marginX+contentW, y)
}

// field draws a bold label and its value, wrapped in the remaining width,
// starting new pages as needed.
func (d *doc) field(label, value string, labelW float64) {
	for i, l := range d.wrap(orDash(value), contentW-labelW, fontBody) {
		d.ensure(12)
		if i == 0 {
			d.text(marginX, d.y, label, fontBold, colMuted)
		}
		d.text(marginX+labelW, d.y, l, fontBody, colText)
		d.y += 12
	}
}

// message draws one line of muted text, such as the empty-report notice.
func (d *doc) message(s string) {
	d.ensure(14)
	d.text(marginX, d.y, s, fontBody, colMuted)
	d.y += 14
}

// finish writes the document to w, unless an error occurred while
// building it.
func (d *doc) finish(w io.Writer) error {
	if d.err != nil {
		return d.err
	}
	if _, err := d.pdf.WriteTo(w); err != nil {
		return fmt.Errorf("pdf: writing document: %w", err)
	}
	return nil
}
