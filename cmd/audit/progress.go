package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows how a long operation advances: a bar with rate and ETA on
// a terminal, and otherwise a plain line every interval (and one at the
// end), so that logs of a cron job or a CI step stay readable.
type progress struct {
	bar *progressbar.ProgressBar // nil when w is not a terminal

	w           io.Writer
	label, unit string
	total, done int64
	start, last time.Time
	interval    time.Duration
}

// newProgress reports to w; total is the expected count, or -1 when
// unknown.
func newProgress(w io.Writer, label, unit string, total int64, interval time.Duration) *progress {
	p := &progress{w: w, label: label, unit: unit, total: total, start: time.Now(), interval: interval}
	p.last = p.start
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(label),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString(unit),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
		)
	}
	return p
}

// Add counts n more units done.
func (p *progress) Add(n int64) {
	p.done += n
	if p.bar != nil {
		_ = p.bar.Add64(n)
		return
	}
	if now := time.Now(); now.Sub(p.last) >= p.interval {
		p.last = now
		p.line("")
	}
}

// Finish ends the report with a last line.
func (p *progress) Finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		return
	}
	p.line(" done")
}

func (p *progress) line(suffix string) {
	elapsed := time.Since(p.start)
	rate := float64(p.done) / max(elapsed.Seconds(), 1e-9)
	s := fmt.Sprintf("%s: %d", p.label, p.done)
	if p.total >= 0 {
		s += fmt.Sprintf("/%d", p.total)
	}
	s += fmt.Sprintf(" %s, %.0f %s/s, %s elapsed", p.unit, rate, p.unit, elapsed.Round(time.Second))
	if p.total > 0 && p.done < p.total && rate > 0 {
		s += fmt.Sprintf(", ETA %s", (time.Duration(float64(p.total-p.done)/rate) * time.Second).Round(time.Second))
	}
	fmt.Fprintln(p.w, s+suffix)
}
