package redact

import (
	"bytes"
	"unicode"
	"unicode/utf8"
)

// DefaultKeys returns the secret names masked by default. Keys are compared
// with names in normalized form (see Normalize): a key of at most four
// characters ("pin", "sid", "otp", "pwd") is a word and must equal a whole
// word of the name ("user_pin", "pinCode", "X-Auth"), so that "shipping" and
// "author" are not secrets; a longer key may appear anywhere in the name
// ("new_password", "X-Api-Key", "refreshToken").
func DefaultKeys() []string {
	return []string{
		// passwords
		"password", "passwd", "passphrase", "passcode", "pass", "pwd", "pw",
		// tokens, keys and signatures
		"secret", "token", "jwt", "access", "refresh", "bearer", "auth", "authorization",
		"apikey", "accesskey", "privatekey", "privkey", "signingkey", "encryptionkey", "masterkey",
		"signature", "sig", "credential", "csrf", "xsrf",
		// sessions
		"cookie", "session", "sid",
		// one-time codes and PINs
		"otp", "totp", "hotp", "pin", "pincode",
		// payment cards and identity numbers
		"creditcard", "cardnum", "ccnum", "cvv", "cvv2", "cvc", "cvc2", "securitycode", "ssn", "socialsecurity",
	}
}

// wordKeyMax is the longest key matched as a whole word.
const wordKeyMax = 4

// Normalize is the form in which names are compared: every letter folded
// as Unicode simple case folding does (so "PASSWORD", "paſsword" with a
// long s and "toKen" with a Kelvin sign all become plain lower case, as
// encoding/json matches them), and every character that is not a letter or
// a digit removed ("api.key", "api key", "API-Key" are all "apikey").
func Normalize(name string) string {
	var buf [64]byte
	out, _ := appendNormalized(buf[:0], name, nil)
	return string(out)
}

// foldRune maps r to one representative of its case-folding orbit, the
// lower case of encoding/json's fold (unicode.ToUpper(unicode.ToLower(r))).
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	return unicode.ToLower(unicode.ToUpper(unicode.ToLower(r)))
}

func isNameRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// appendNormalized appends the normalized form of name to dst and, when
// ks is not nil, checks each word of the normalized name against its word
// keys: words are separated by removed characters and by case changes
// ("pinCode" is "pin" and "code", "JWTToken" is "jwt" and "token"). It
// stops early and reports true at the first word key, or token (words
// joined by "-", "_", "." or " ") that spells one.
func appendNormalized(dst []byte, name string, ks *keySet) ([]byte, bool) {
	wordStart, tokenStart := len(dst), len(dst)
	var prev rune = -1 // previous letter or digit, -1 after a separator
	for i := 0; i < len(name); {
		if c := name[i]; 'a' <= c && c <= 'z' || '0' <= c && c <= '9' { // the common case
			dst = append(dst, c)
			prev = rune(c)
			i++
			continue
		}
		r, n := rune(name[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRuneInString(name[i:])
		}
		i += n
		if !isNameRune(r) {
			if ks.isWord(dst[wordStart:]) {
				return dst, true
			}
			wordStart = len(dst)
			if r != '-' && r != '_' && r != '.' && r != ' ' {
				// The end of a token: "S-ID" and "p_w_d" are word keys
				// spelled with separators.
				if ks.isWord(dst[tokenStart:]) {
					return dst, true
				}
				tokenStart = len(dst)
			}
			prev = -1
			continue
		}
		if prev >= 0 && isUpper(r) {
			next, _ := utf8.DecodeRuneInString(name[i:])
			if isLower(prev) || isDigitRune(prev) || (isUpper(prev) && isLower(next)) {
				if ks.isWord(dst[wordStart:]) {
					return dst, true
				}
				wordStart = len(dst)
			}
		}
		prev = r
		f := foldRune(r)
		if f < utf8.RuneSelf {
			dst = append(dst, byte(f))
		} else {
			dst = utf8.AppendRune(dst, f)
		}
	}
	return dst, ks.isWord(dst[wordStart:]) || ks.isWord(dst[tokenStart:])
}

func isUpper(r rune) bool {
	if r < utf8.RuneSelf {
		return 'A' <= r && r <= 'Z'
	}
	return unicode.IsUpper(r)
}

func isLower(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z'
	}
	return unicode.IsLower(r)
}

func isDigitRune(r rune) bool {
	if r < utf8.RuneSelf {
		return '0' <= r && r <= '9'
	}
	return unicode.IsDigit(r)
}

// keySet is the compiled list of secret names.
type keySet struct {
	fragments [][]byte             // normalized keys longer than wordKeyMax
	byFirst   [256][]uint16        // indexes into fragments, by first byte
	words     map[string]bool      // normalized keys of at most wordKeyMax runes
	wordFirst [256][][]byte        // the same, by first byte
	pairs     [1 << 16 / 64]uint64 // first two bytes of every fragment
}

func newKeySet(keys, add, remove []string) keySet {
	if keys == nil {
		keys = DefaultKeys()
	}
	removed := map[string]bool{}
	for _, k := range remove {
		removed[Normalize(k)] = true
	}
	ks := keySet{words: map[string]bool{}}
	seen := map[string]bool{}
	for _, k := range append(append([]string(nil), keys...), add...) {
		n := Normalize(k)
		if n == "" || removed[n] || seen[n] {
			continue
		}
		seen[n] = true
		if utf8.RuneCountInString(n) <= wordKeyMax {
			ks.words[n] = true
			ks.wordFirst[n[0]] = append(ks.wordFirst[n[0]], []byte(n))
		} else {
			ks.byFirst[n[0]] = append(ks.byFirst[n[0]], uint16(len(ks.fragments)))
			pair := uint16(n[0])<<8 | uint16(n[1])
			ks.pairs[pair/64] |= 1 << (pair % 64)
			ks.fragments = append(ks.fragments, []byte(n))
		}
	}
	return ks
}

func (k *keySet) empty() bool { return len(k.fragments) == 0 && len(k.words) == 0 }

// match reports whether the name is a secret.
func (k *keySet) match(name string) bool {
	if k.empty() || name == "" {
		return false
	}
	var buf [128]byte
	norm, hit := appendNormalized(buf[:0], name, k)
	return hit || k.words[string(norm)] || k.hasFragment(norm)
}

// isWord reports whether w is a word key (false for a nil keySet).
func (k *keySet) isWord(w []byte) bool {
	if k == nil || len(w) == 0 || len(w) > wordKeyMax*utf8.UTFMax {
		return false
	}
	for _, key := range k.wordFirst[w[0]] {
		if bytes.Equal(w, key) {
			return true
		}
	}
	return false
}

// hasFragment reports whether a fragment key occurs in norm.
func (k *keySet) hasFragment(norm []byte) bool {
	for i := 0; i+1 < len(norm); i++ {
		if pair := uint16(norm[i])<<8 | uint16(norm[i+1]); k.pairs[pair/64]&(1<<(pair%64)) == 0 {
			continue
		}
		for _, fi := range k.byFirst[norm[i]] {
			if bytes.HasPrefix(norm[i:], k.fragments[fi]) {
				return true
			}
		}
	}
	return false
}
