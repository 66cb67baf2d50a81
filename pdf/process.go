package pdf

import (
	"fmt"
	"io"
	"iter"
	"strconv"

	"github.com/gin-audit-trail/audit/entities"
)

// fieldLabelW is the width of the label column of a process's fields.
const fieldLabelW = 70.0

// stepColumns returns the columns of a process's steps table, which add
// up to the content width.
func stepColumns() []column {
	return []column{
		{title: "Order", width: 36, right: true},
		{title: "Step", width: 112},
		{title: "Description", width: 152},
		{title: "Registrations", width: 215},
	}
}

// WriteProcessReport writes a PDF report of business processes to w, as
// drf-audit-trail's process template does: for each process its name, id,
// creator, creation time, description and outcome, then a table of its
// steps (order, name, description) where every registration is a green
// "Success: <name>" or red "Failure: <name>" badge, with its description
// under it, and every expected registration that is missing is a grey "No
// registration" badge. Processes are drawn one at a time as the iterator
// yields them; if it yields an error, rendering stops, nothing is written
// and the error is returned wrapped.
func WriteProcessReport(w io.Writer, meta Meta, processes iter.Seq2[*entities.ProcessDetail, error]) error {
	d, err := newDoc(meta)
	if err != nil {
		return err
	}
	n := 0
	var sealed sealedRange
	for p, err := range processes {
		if err != nil {
			return fmt.Errorf("pdf: reading processes: %w", err)
		}
		if p == nil {
			continue
		}
		sealed.addRow(p)
		if n > 0 {
			d.y += 10
		}
		d.process(p)
		if d.err != nil {
			return d.err
		}
		n++
	}
	if n == 0 {
		d.message(emptyMessage)
	}
	d.sealedLine(&sealed)
	return d.finish(w)
}

// process draws one process: its fields, then its steps table.
func (d *doc) process(p *entities.ProcessDetail) {
	ev := &p.Process
	name := orDash(clean(ev.Name))
	outcome, colour := outcomeLabel(p.Outcome())
	badgeW := d.width(outcome, fontBadge) + 2*badgePad

	d.ensure(110) // keep the name with its fields and the first step
	for i, l := range d.wrap(name, contentW-badgeW-10, fontTitle) {
		d.ensure(17)
		if i == 0 {
			d.rect(marginX+contentW-badgeW, d.y+1, badgeW, badgeLineH+1, colour)
			d.text(marginX+contentW-badgeW+badgePad, d.y+3, outcome, fontBadge, colWhite)
		}
		d.text(marginX, d.y, l, fontTitle, colText)
		d.y += 17
	}
	d.field("ID", ev.ID.String(), fieldLabelW)
	d.field("Created by", d.meta.user(ev.CreatedBy), fieldLabelW)
	d.field("Created at", formatTime(ev.Datetime)+" UTC", fieldLabelW)
	if ev.RequestID != nil {
		d.field("Request", ev.RequestID.String(), fieldLabelW)
	}
	d.field("Outcome", outcome, fieldLabelW)
	d.field("Description", clean(ev.Description), fieldLabelW)
	d.y += 6

	if len(p.Steps) == 0 {
		d.message("No steps recorded.")
		return
	}
	t := d.startTable(stepColumns(), d.fit(name, contentW-80, fontSmall)+" (continued)")
	for i := range p.Steps {
		t.row(t.stepCells(&p.Steps[i]))
	}
	t.end()
}

// stepCells returns the cells of one step row: order, name, description
// and the registration badges.
func (t *table) stepCells(s *entities.StepDetail) []cell {
	cells := t.textRow(
		strconv.Itoa(s.Step.StepOrder),
		orDash(clean(s.Step.Name)),
		clean(s.Step.Description),
		"",
	)
	var regs cell
	for _, r := range s.Registrations {
		if len(regs) > 0 {
			regs = append(regs, gap(3))
		}
		label, bg := "Failure", colFailure
		if r.Success {
			label, bg = "Success", colSuccess
		}
		if name := clean(r.Name); name != "" {
			label += ": " + name
		}
		regs = append(regs, t.badge(3, label, bg, colWhite)...)
		if desc := clean(r.Description); desc != "" {
			regs = append(regs, gap(1))
			regs = append(regs, t.note(3, desc)...)
		}
	}
	for range s.Missing() {
		if len(regs) > 0 {
			regs = append(regs, gap(3))
		}
		regs = append(regs, t.badge(3, "No registration", colMissing, colText)...)
	}
	cells[3] = regs
	return cells
}

// outcomeLabel is the text and badge colour of a process outcome.
func outcomeLabel(o entities.Outcome) (string, rgb) {
	switch o {
	case entities.OutcomeSuccess:
		return "Succeeded", colSuccess
	case entities.OutcomeFailed:
		return "Failed", colFailure
	}
	return "Pending", colPending
}
