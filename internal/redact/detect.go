package redact

import (
	"bytes"
	"encoding/base64"
	"strings"
)

// Detector finds secrets by the shape of their value, wherever they stand.
// FindSecrets returns the byte ranges [start, end) of s that are secrets,
// or nil. It is called with every stored text value, concurrently, so it
// must be safe for concurrent use and should return quickly when s holds
// nothing it recognises.
type Detector interface {
	FindSecrets(s string) [][2]int
}

// Built-in detector names, for Config.DisableDetectors.
const (
	DetectJWT  = "jwt"  // JSON Web Tokens: eyJ... with two or more dots
	DetectAuth = "auth" // the credential after "Bearer " or "Basic "
	DetectPEM  = "pem"  // PEM private key blocks
	DetectCard = "card" // payment card numbers that pass the Luhn check
)

// BuiltinDetectors are the names of the detectors that are on by default.
func BuiltinDetectors() []string { return []string{DetectJWT, DetectAuth, DetectPEM, DetectCard} }

// builtins selects the built-in detectors that are on.
type builtins struct {
	jwt, auth, pem, card bool
}

func newBuiltins(disabled []string) builtins {
	b := builtins{jwt: true, auth: true, pem: true, card: true}
	for _, d := range disabled {
		switch strings.ToLower(strings.TrimSpace(d)) {
		case DetectJWT:
			b.jwt = false
		case DetectAuth:
			b.auth = false
		case DetectPEM:
			b.pem = false
		case DetectCard:
			b.card = false
		}
	}
	return b
}

// find appends the spans of the built-in detectors to dst. It allocates
// nothing when s holds no candidate.
func (b builtins) find(s string, dst [][2]int) [][2]int {
	if b.jwt {
		dst = findJWT(s, dst)
	}
	if b.pem {
		dst = findPEM(s, dst)
	}
	if b.auth || b.card {
		dst = b.scanBytes(s, dst)
	}
	return dst
}

func isB64URL(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// findJWT finds "eyJ" (base64url of `{"`) followed by at least two more
// dot-separated base64url segments.
func findJWT(s string, dst [][2]int) [][2]int {
	for from := 0; ; {
		i := strings.Index(s[from:], "eyJ")
		if i < 0 {
			return dst
		}
		start := from + i
		end, dots := start, 0
		for end < len(s) && (isB64URL(s[end]) || s[end] == '.') {
			if s[end] == '.' {
				dots++
			}
			end++
		}
		for end > start && s[end-1] == '.' { // a sentence's full stop
			end--
			dots--
		}
		if dots >= 2 {
			dst = append(dst, [2]int{start, end})
		}
		from = max(end, start+3)
	}
}

// findPEM finds PEM blocks whose label names a private key, from BEGIN to
// the end of the END line, or, without an END line, to the next double
// quote or the end of s.
func findPEM(s string, dst [][2]int) [][2]int {
	for from := 0; ; {
		i := strings.Index(s[from:], "-----BEGIN ")
		if i < 0 {
			return dst
		}
		start := from + i
		labelEnd := strings.Index(s[start+11:], "-----")
		if labelEnd < 0 || labelEnd > 80 {
			from = start + 11
			continue
		}
		if !strings.Contains(s[start+11:start+11+labelEnd], "PRIVATE") {
			from = start + 11
			continue
		}
		end := len(s)
		if q := strings.IndexByte(s[start:], '"'); q >= 0 {
			end = start + q
		}
		if e := strings.Index(s[start:end], "-----END "); e >= 0 {
			rest := start + e + 9
			if c := strings.Index(s[rest:end], "-----"); c >= 0 {
				end = rest + c + 5
			}
		}
		dst = append(dst, [2]int{start, end})
		from = end
	}
}

// scanBytes finds "Bearer x"/"Basic x" credentials and card numbers in one
// pass over s.
func (b builtins) scanBytes(s string, dst [][2]int) [][2]int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case b.card && '2' <= c && c <= '6' && standsAlone(s, i-1, -1):
			if end, ok := cardAt(s, i); ok {
				dst = append(dst, [2]int{i, end})
				i = end - 1
			}
		case b.auth && c|0x20 == 'b' && (i == 0 || !isLetter(s[i-1])):
			if start, end, ok := credentialAt(s, i); ok {
				dst = append(dst, [2]int{start, end})
				i = end - 1
			}
		}
	}
	return dst
}

func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// cardAt reports whether a payment card number starts at s[i], and where
// it ends: 13 to 19 digits, first digit 2 to 6, valid Luhn check digit,
// either in one run or in groups separated by single spaces or dashes laid
// out as cards print them (groups of 4 with a shorter last one, or 4-6-4 and
// 4-6-5), so that a UUID's digit groups are not taken for a card. When the
// whole run is no card, its longest prefix that ends at a separator and is
// one counts ("4111 1111 1111 1111 0").
func cardAt(s string, i int) (int, bool) {
	var digits [19]byte
	var groups [19]int // digits in each group
	var ends [19]int   // ends[g]: where group g ends
	n, g := 0, 0
	for j := i; j < len(s); j++ {
		c := s[j]
		if isDigit(c) {
			if n == len(digits) {
				break // too long for a card: only prefixes that end at a separator count
			}
			digits[n] = c - '0'
			n++
			groups[g]++
			ends[g] = j + 1
			continue
		}
		if (c == ' ' || c == '-') && j+1 < len(s) && isDigit(s[j+1]) && j > i && isDigit(s[j-1]) && g+1 < len(groups) {
			g++
			continue
		}
		break
	}
	if groups[g] > 0 && ends[g] < len(s) && isDigit(s[ends[g]]) {
		g-- // the last group was cut by the length limit
	}
	total := 0
	for k := 0; k <= g; k++ {
		total += groups[k]
	}
	for k := g; k >= 0; k-- {
		if total >= 13 && total <= 19 && cardLayout(groups[:k+1]) && standsAlone(s, ends[k], 1) && luhn(digits[:total]) {
			return ends[k], true
		}
		total -= groups[k]
	}
	return 0, false
}

// standsAlone reports whether the character at s[j] (j out of range: the
// end of s) does not glue a number to a longer token: not a letter, digit
// nor a '-' with a letter or digit beyond it, nor a '.' with a digit beyond
// it (dir is the direction away from the number). "8feceff3-5937-..." in a
// UUID and "0.4111..." are glued; "card 4111 1111 1111 1111." is not.
func standsAlone(s string, j, dir int) bool {
	if j < 0 || j >= len(s) {
		return true
	}
	c := s[j]
	if isDigit(c) || isLetter(c) {
		return false
	}
	k := j + dir
	beyond := k >= 0 && k < len(s)
	switch c {
	case '-':
		return !beyond || !isDigit(s[k]) && !isLetter(s[k])
	case '.': // a decimal fraction, not a full stop
		return !beyond || !isDigit(s[k])
	}
	return true
}

// cardLayout reports whether digit groups are laid out as cards print
// them: one group, groups of 4 with a last one of 1 to 4, 4-6-4 or 4-6-5.
func cardLayout(groups []int) bool {
	switch {
	case len(groups) == 1:
		return true
	case len(groups) == 3 && groups[0] == 4 && groups[1] == 6 && (groups[2] == 4 || groups[2] == 5):
		return true
	}
	for k, n := range groups {
		if n != 4 && (k < len(groups)-1 || n > 4) {
			return false
		}
	}
	return true
}

func luhn(digits []byte) bool {
	sum := 0
	for k := range digits {
		d := int(digits[len(digits)-1-k])
		if k%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// credentialAt reports whether "Bearer" or "Basic" (any case) at s[i] is
// followed by spaces and a credential, and returns the credential's span.
// A Bearer credential has at least 8 token characters; a Basic credential
// must decode from base64 to "user:password".
func credentialAt(s string, i int) (int, int, bool) {
	rest := s[i:]
	var scheme string
	switch {
	case len(rest) >= 7 && strings.EqualFold(rest[:6], "bearer"):
		scheme = "bearer"
	case len(rest) >= 6 && strings.EqualFold(rest[:5], "basic"):
		scheme = "basic"
	default:
		return 0, 0, false
	}
	j := i + len(scheme)
	k := j
	for k < len(s) && (s[k] == ' ' || s[k] == '\t' || s[k] == '+') {
		k++
	}
	if k == j {
		return 0, 0, false
	}
	start := k
	for k < len(s) && isToken68(s[k]) {
		k++
	}
	for k < len(s) && s[k] == '=' {
		k++
	}
	cred := s[start:k]
	if scheme == "bearer" {
		return start, k, len(cred) >= 8
	}
	if len(cred) < 4 {
		return 0, 0, false
	}
	raw, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		raw, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(cred, "="))
	}
	return start, k, err == nil && bytes.IndexByte(raw, ':') > 0
}

func isToken68(c byte) bool {
	return isB64URL(c) || c == '.' || c == '~' || c == '+' || c == '/'
}
