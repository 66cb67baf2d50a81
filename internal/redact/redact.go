// Package redact masks secrets in the text the audit trail stores: values
// of JSON object members and query parameters whose names look like
// passwords, tokens or keys.
package redact

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// Mask replaces every redacted value.
const Mask = "********"

// DefaultKeys are the name fragments treated as secrets, matched
// case-insensitively anywhere in a JSON member or query parameter name
// ("new_password", "X-Api-Key" and "refreshToken" all match).
var DefaultKeys = []string{"password", "passwd", "secret", "token", "jwt", "access", "refresh", "api_key", "apikey", "authorization", "cookie", "credential"}

// Redactor masks secret values. Its zero value masks nothing; use New.
type Redactor struct {
	keys []string // lower case
}

// New returns a Redactor for the given name fragments (DefaultKeys when
// keys is nil).
func New(keys []string) *Redactor {
	if keys == nil {
		keys = DefaultKeys
	}
	r := &Redactor{}
	for _, k := range keys {
		if k = strings.ToLower(strings.TrimSpace(k)); k != "" {
			r.keys = append(r.keys, k)
		}
	}
	return r
}

// IsSecret reports whether a member or parameter called name holds a secret.
func (r *Redactor) IsSecret(name string) bool {
	if len(r.keys) == 0 {
		return false
	}
	lower := fold([]byte(name))
	for _, k := range r.keys {
		if bytes.Contains(lower, []byte(k)) {
			return true
		}
	}
	return false
}

// ErrNotJSON is returned by JSON for input that is not one JSON value.
var ErrNotJSON = errors.New("redact: not a single JSON value")

// maxDepth bounds nesting, so hostile input cannot exhaust the stack.
const maxDepth = 256

// JSON returns doc with the value of every object member whose name is a
// secret replaced by Mask (a whole object or array included), compacted,
// member order kept. Input that may hold a secret but is not exactly one
// JSON value gives ErrNotJSON and no output, so that a caller never stores
// unredacted text by mistake.
//
// When no secret name occurs anywhere in doc (and doc has no escapes that
// could spell one), doc is returned as it is, valid JSON or not, without
// parsing: the common case costs one scan.
func (r *Redactor) JSON(doc []byte) ([]byte, error) {
	if bytes.IndexByte(doc, '\\') < 0 && !r.mentions(doc) {
		return doc, nil
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var out bytes.Buffer
	out.Grow(len(doc))
	w := &writer{r: r, dec: dec, out: &out}
	if err := w.value(0); err != nil {
		return nil, ErrNotJSON
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, ErrNotJSON
	}
	return out.Bytes(), nil
}

type writer struct {
	r       *Redactor
	dec     *json.Decoder
	out     *bytes.Buffer
	enc     *json.Encoder
	scratch bytes.Buffer
}

// value copies one JSON value from the decoder to the output.
func (w *writer) value(depth int) error {
	if depth > maxDepth {
		return ErrNotJSON
	}
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			return w.object(depth)
		case '[':
			return w.array(depth)
		}
		return ErrNotJSON
	default:
		return w.scalar(t)
	}
}

func (w *writer) object(depth int) error {
	w.out.WriteByte('{')
	for first := true; w.dec.More(); first = false {
		tok, err := w.dec.Token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return ErrNotJSON
		}
		if !first {
			w.out.WriteByte(',')
		}
		if err := w.scalar(key); err != nil {
			return err
		}
		w.out.WriteByte(':')
		if w.r.IsSecret(key) {
			if err := w.skip(depth + 1); err != nil {
				return err
			}
			w.scalar(Mask)
			continue
		}
		if err := w.value(depth + 1); err != nil {
			return err
		}
	}
	if _, err := w.dec.Token(); err != nil { // '}'
		return err
	}
	w.out.WriteByte('}')
	return nil
}

func (w *writer) array(depth int) error {
	w.out.WriteByte('[')
	for first := true; w.dec.More(); first = false {
		if !first {
			w.out.WriteByte(',')
		}
		if err := w.value(depth + 1); err != nil {
			return err
		}
	}
	if _, err := w.dec.Token(); err != nil { // ']'
		return err
	}
	w.out.WriteByte(']')
	return nil
}

// skip consumes one value without writing it.
func (w *writer) skip(depth int) error {
	if depth > maxDepth {
		return ErrNotJSON
	}
	tok, err := w.dec.Token()
	if err != nil {
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if d != '{' && d != '[' {
		return ErrNotJSON
	}
	for w.dec.More() {
		if d == '{' {
			if _, err := w.dec.Token(); err != nil { // key
				return err
			}
		}
		if err := w.skip(depth + 1); err != nil {
			return err
		}
	}
	_, err = w.dec.Token()
	return err
}

func (w *writer) scalar(v any) error {
	switch t := v.(type) {
	case json.Number:
		w.out.WriteString(t.String())
		return nil
	case nil:
		w.out.WriteString("null")
		return nil
	}
	if w.enc == nil {
		w.enc = json.NewEncoder(&w.scratch)
		w.enc.SetEscapeHTML(false) // keep "<script>" readable; viewers escape on output
	}
	w.scratch.Reset()
	if err := w.enc.Encode(v); err != nil {
		return err
	}
	w.out.Write(bytes.TrimSuffix(w.scratch.Bytes(), []byte("\n")))
	return nil
}

// Query returns the raw query string with the value of every secret
// parameter replaced by Mask. Parameter order and encoding are kept.
func (r *Redactor) Query(raw string) string {
	if raw == "" || len(r.keys) == 0 {
		return raw
	}
	var b strings.Builder
	changed := false
	rest := raw
	for i := 0; rest != "" || i == 0; i++ {
		var part string
		part, rest, _ = strings.Cut(rest, "&")
		if i > 0 {
			b.WriteByte('&')
		}
		name, _, _ := strings.Cut(part, "=")
		if r.IsSecret(queryName(name)) {
			changed = true
			b.WriteString(name)
			b.WriteByte('=')
			b.WriteString(Mask)
			continue
		}
		b.WriteString(part)
	}
	if !changed {
		return raw
	}
	return b.String()
}

// queryName decodes the common escapes of a parameter name, so that
// "pass%77ord" or "api%5Fkey" cannot slip past the check.
func queryName(name string) string {
	if !strings.ContainsAny(name, "%+") {
		return name
	}
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(name) && isHex(name[i+1]) && isHex(name[i+2]):
			b.WriteByte(unhex(name[i+1])<<4 | unhex(name[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// Mentions reports whether text contains any secret name fragment
// (case-insensitive). Callers use it to refuse storing text they cannot
// parse and mask member by member.
func (r *Redactor) Mentions(text string) bool {
	return r.mentions([]byte(text))
}

func (r *Redactor) mentions(text []byte) bool {
	if len(r.keys) == 0 {
		return false
	}
	folded := fold(text)
	for _, k := range r.keys {
		if bytes.Contains(folded, []byte(k)) {
			return true
		}
	}
	return false
}

// fold lower-cases ASCII letters and maps '-' to '_', as IsSecret compares
// names.
func fold(text []byte) []byte {
	out := make([]byte, len(text))
	for i, c := range text {
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c == '-':
			c = '_'
		}
		out[i] = c
	}
	return out
}
