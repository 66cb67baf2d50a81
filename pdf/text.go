package pdf

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// maxFieldRunes caps every field drawn in a report, so one huge value (a
// 60 KB description, say) cannot make a report explode.
const maxFieldRunes = 2000

// ellipsis marks a field that was cut.
const ellipsis = "…"

// clean makes s safe and bounded to draw: invalid UTF-8 becomes U+FFFD, NUL
// bytes and other control characters (except newlines) become spaces or
// disappear, and s is cut to maxFieldRunes runes followed by "…".
func clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if needsCleaning(s) {
		s = strings.Map(func(r rune) rune {
			switch {
			case r == 0:
				return -1
			case r == '\n':
				return r
			case r == '\t' || unicode.IsControl(r):
				return ' '
			}
			return r
		}, strings.ReplaceAll(s, "\r\n", "\n"))
	}
	n := 0
	for i := range s {
		if n == maxFieldRunes {
			return s[:i] + ellipsis
		}
		n++
	}
	return s
}

// needsCleaning reports whether s holds a control character other than a
// newline.
func needsCleaning(s string) bool {
	for _, r := range s {
		if r != '\n' && unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// formatTime renders t in UTC to the second; the zero time renders as "-".
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

// formatMS renders a duration in milliseconds with one decimal.
func formatMS(ms float64) string {
	return strconv.FormatFloat(finite(ms), 'f', 1, 64)
}

// finite returns v, or 0 when v is NaN, infinite or negative, so bad
// statistics cannot break the layout.
func finite(v float64) float64 {
	if v != v || v > 1e300 || v < 0 {
		return 0
	}
	return v
}

// orDash returns s, or "-" when s is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
