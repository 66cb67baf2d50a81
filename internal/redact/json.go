package redact

import (
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrNotJSON is returned by JSON for input that is not one JSON value.
var ErrNotJSON = errors.New("redact: not a single JSON value")

// ErrTooDeep is returned by JSON for input nested deeper than MaxDepth: it
// cannot be checked, so it must not be stored.
var ErrTooDeep = errors.New("redact: JSON nested too deep to check")

// MaxDepth bounds the nesting of checked JSON, so hostile input cannot
// exhaust the stack.
const MaxDepth = 256

// node is a parsed JSON value. Member order and duplicate names are kept.
type node struct {
	kind byte     // '{', '[', '"', '0' (number), 'l' (true, false, null)
	text string   // decoded string, number or literal text
	keys []string // object member names
	kids []*node  // object member values, array elements
}

type parser struct {
	s   []byte
	pos int
}

func (p *parser) ws() {
	for p.pos < len(p.s) {
		switch p.s[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// parseJSON parses exactly one JSON value (whitespace around it allowed).
func parseJSON(doc []byte) (*node, error) {
	p := &parser{s: doc}
	n, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.pos != len(p.s) {
		return nil, ErrNotJSON
	}
	return n, nil
}

func (p *parser) value(depth int) (*node, error) {
	if depth > MaxDepth {
		return nil, ErrTooDeep
	}
	p.ws()
	if p.pos >= len(p.s) {
		return nil, ErrNotJSON
	}
	switch c := p.s[p.pos]; {
	case c == '{':
		p.pos++
		n := &node{kind: '{'}
		p.ws()
		if p.pos < len(p.s) && p.s[p.pos] == '}' {
			p.pos++
			return n, nil
		}
		for {
			p.ws()
			if p.pos >= len(p.s) || p.s[p.pos] != '"' {
				return nil, ErrNotJSON
			}
			key, err := p.str()
			if err != nil {
				return nil, err
			}
			p.ws()
			if p.pos >= len(p.s) || p.s[p.pos] != ':' {
				return nil, ErrNotJSON
			}
			p.pos++
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			n.keys, n.kids = append(n.keys, key), append(n.kids, v)
			if done, err := p.next('}'); err != nil || done {
				return n, err
			}
		}
	case c == '[':
		p.pos++
		n := &node{kind: '['}
		p.ws()
		if p.pos < len(p.s) && p.s[p.pos] == ']' {
			p.pos++
			return n, nil
		}
		for {
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, v)
			if done, err := p.next(']'); err != nil || done {
				return n, err
			}
		}
	case c == '"':
		s, err := p.str()
		return &node{kind: '"', text: s}, err
	case c == '-' || isDigit(c):
		return p.number()
	default:
		for _, lit := range []string{"true", "false", "null"} {
			if len(p.s)-p.pos >= len(lit) && string(p.s[p.pos:p.pos+len(lit)]) == lit {
				p.pos += len(lit)
				return &node{kind: 'l', text: lit}, nil
			}
		}
		return nil, ErrNotJSON
	}
}

// next consumes ',' (false) or the closing delimiter (true).
func (p *parser) next(closing byte) (bool, error) {
	p.ws()
	if p.pos >= len(p.s) {
		return false, ErrNotJSON
	}
	switch p.s[p.pos] {
	case ',':
		p.pos++
		return false, nil
	case closing:
		p.pos++
		return true, nil
	}
	return false, ErrNotJSON
}

func (p *parser) number() (*node, error) {
	start := p.pos
	if p.s[p.pos] == '-' {
		p.pos++
	}
	digits := func() int {
		n := 0
		for p.pos < len(p.s) && isDigit(p.s[p.pos]) {
			p.pos++
			n++
		}
		return n
	}
	if p.pos < len(p.s) && p.s[p.pos] == '0' {
		p.pos++
	} else if digits() == 0 {
		return nil, ErrNotJSON
	}
	if p.pos < len(p.s) && p.s[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return nil, ErrNotJSON
		}
	}
	if p.pos < len(p.s) && (p.s[p.pos] == 'e' || p.s[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.s) && (p.s[p.pos] == '+' || p.s[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return nil, ErrNotJSON
		}
	}
	return &node{kind: '0', text: string(p.s[start:p.pos])}, nil
}

// str decodes the string at p.pos (which is '"'), as encoding/json does:
// invalid UTF-8 and lone surrogates become U+FFFD.
func (p *parser) str() (string, error) {
	p.pos++
	start := p.pos
	for p.pos < len(p.s) { // fast path: no escapes
		c := p.s[p.pos]
		if c == '"' {
			s := p.s[start:p.pos]
			p.pos++
			if utf8.Valid(s) {
				return string(s), nil
			}
			return string(toValidUTF8(s)), nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		p.pos++
	}
	out := append([]byte(nil), p.s[start:p.pos]...)
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(toValidUTF8(out)), nil
		case c < 0x20:
			return "", ErrNotJSON
		case c != '\\':
			out = append(out, c)
			p.pos++
			continue
		}
		if p.pos+1 >= len(p.s) {
			return "", ErrNotJSON
		}
		e := p.s[p.pos+1]
		p.pos += 2
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", ErrNotJSON
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if p.pos+1 < len(p.s) && p.s[p.pos] == '\\' && p.s[p.pos+1] == 'u' {
					save := p.pos
					p.pos += 2
					if r2, ok = p.hex4(); !ok {
						return "", ErrNotJSON
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						out = utf8.AppendRune(out, dec)
						continue
					}
					p.pos = save
				}
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
		default:
			return "", ErrNotJSON
		}
	}
	return "", ErrNotJSON
}

func (p *parser) hex4() (rune, bool) {
	if p.pos+4 > len(p.s) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(p.s[p.pos:p.pos+4]), 16, 32)
	if err != nil {
		return 0, false
	}
	p.pos += 4
	return rune(v), true
}

func toValidUTF8(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			out = append(out, "\uFFFD"...)
		} else {
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return out
}

// encode appends the compact JSON text of n.
func (n *node) encode(dst []byte) []byte {
	switch n.kind {
	case '{':
		dst = append(dst, '{')
		for i, k := range n.keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, k)
			dst = append(dst, ':')
			dst = n.kids[i].encode(dst)
		}
		return append(dst, '}')
	case '[':
		dst = append(dst, '[')
		for i, k := range n.kids {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = k.encode(dst)
		}
		return append(dst, ']')
	case '"':
		return appendString(dst, n.text)
	}
	return append(dst, n.text...)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string, escaped like encoding/json
// without HTML escaping.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}
