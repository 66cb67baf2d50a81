// Package textclean makes arbitrary strings safe to store in any SQL text
// column: PostgreSQL rejects NUL bytes and invalid UTF-8, and fixed-size
// columns reject long values.
package textclean

import (
	"strings"
	"unicode/utf8"
)

// Clean returns s without NUL bytes and with every invalid UTF-8 sequence
// replaced by U+FFFD. It returns s itself, without allocating, when s is
// already clean.
func Clean(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "")
}

// Truncate cuts s to at most max runes (characters, as SQL column sizes
// count them) and reports whether it cut. s must be valid UTF-8.
func Truncate(s string, max int) (string, bool) {
	if len(s) <= max {
		return s, false // fewer bytes than max means fewer runes
	}
	n := 0
	for i := range s {
		if n == max {
			return s[:i], true
		}
		n++
	}
	return s, false
}
