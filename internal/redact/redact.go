// Package redact masks secrets in the text the audit trail stores and logs,
// three ways:
//
//   - by name: the value of a JSON member, form field, query parameter,
//     XML element or "name=value" / "name: value" pair whose name is a
//     secret (see DefaultKeys and Normalize);
//   - by shape: JSON Web Tokens, Bearer and Basic credentials, PEM private
//     keys and payment card numbers, wherever they stand, and anything a
//     user-supplied Detector recognises;
//   - by echo: every value masked in a request is remembered (Echoes) and
//     scrubbed from every other field of that request's rows.
//
// What cannot be checked (JSON nested deeper than MaxDepth, text that may
// hold a secret but cannot be parsed) is reported as an error, so that
// callers store a note instead.
package redact

import (
	"slices"
	"strings"
	"sync"
	"unsafe"
)

// Mask replaces every redacted value.
const Mask = "********"

// Config selects what a Redactor masks. Its zero value masks the default
// names with the built-in detectors.
type Config struct {
	// Keys replaces the default secret names (nil means DefaultKeys()).
	Keys []string
	// AddKeys are names masked in addition to Keys.
	AddKeys []string
	// RemoveKeys are names not masked, compared in normalized form
	// ("Session-ID" removes "sessionid", not "session").
	RemoveKeys []string
	// Detectors find secrets by shape, in addition to the built-in ones.
	Detectors []Detector
	// DisableDetectors names built-in detectors to turn off (DetectJWT,
	// DetectAuth, DetectPEM, DetectCard).
	DisableDetectors []string
}

// Redactor masks secrets. It is safe for concurrent use. Its zero value
// masks nothing; use New.
type Redactor struct {
	keys     keySet
	builtins builtins
	extra    []Detector
	bufs     sync.Pool // *[]byte scratch for normalized text
}

// New returns a Redactor for the given secret name fragments (DefaultKeys
// when keys is nil) with the built-in detectors.
func New(keys []string) *Redactor {
	return NewWithConfig(Config{Keys: keys})
}

// NewWithConfig returns a Redactor for cfg.
func NewWithConfig(cfg Config) *Redactor {
	return &Redactor{
		keys:     newKeySet(cfg.Keys, cfg.AddKeys, cfg.RemoveKeys),
		builtins: newBuiltins(cfg.DisableDetectors),
		extra:    append([]Detector(nil), cfg.Detectors...),
	}
}

// IsSecret reports whether a member, field or parameter called name holds a
// secret.
func (r *Redactor) IsSecret(name string) bool {
	return r.keys.match(name)
}

// view is b as a string, without copying; b must not change while the
// string is used.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// Mentions reports whether text contains any secret name, in normalized
// form: callers refuse to store text they cannot parse and mask member by
// member when it mentions one.
func (r *Redactor) Mentions(text string) bool {
	if r.keys.empty() || text == "" {
		return false
	}
	bp, _ := r.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	norm, hit := appendNormalized((*bp)[:0], text, &r.keys)
	if !hit {
		hit = r.keys.hasFragment(norm)
	}
	if cap(norm) <= 1<<20 {
		*bp = norm
		r.bufs.Put(bp)
	}
	return hit
}

// detect appends the spans of every detector to dst.
func (r *Redactor) detect(s string, dst [][2]int) [][2]int {
	dst = r.builtins.find(s, dst)
	for _, d := range r.extra {
		for _, sp := range d.FindSecrets(s) {
			if sp[0] < 0 || sp[1] > len(s) || sp[0] >= sp[1] {
				continue
			}
			dst = append(dst, sp)
		}
	}
	return dst
}

// mayHold reports whether text could hold something to mask: a secret
// name, an escape that could spell one, or a detector's candidate. It
// allocates nothing when it reports false.
func (r *Redactor) mayHold(text string) bool {
	if len(r.extra) > 0 || strings.IndexByte(text, '\\') >= 0 {
		return true
	}
	var buf [4][2]int
	if len(r.builtins.find(text, buf[:0])) > 0 {
		return true
	}
	return r.Mentions(text)
}

// JSON returns doc with secrets masked: the value of every member whose
// name is a secret (a whole object or array included), every other member
// of an object that labels itself a secret ({"name": "password", "value":
// ...}), and every string or number a detector recognises, strings holding
// "name=value" text or nested JSON included. The output is compact, member
// order and duplicate names kept. Masked values are added to e (which may
// be nil).
//
// Input that is not exactly one JSON value gives ErrNotJSON, and input
// nested deeper than MaxDepth gives ErrTooDeep, with no output, so that a
// caller never stores unchecked text by mistake. When doc holds nothing
// that could be a secret (no secret name, no escape, no detector
// candidate), doc is returned as it is, valid JSON or not, without
// parsing: the common case costs one scan and allocates nothing.
func (r *Redactor) JSON(doc []byte, e *Echoes) ([]byte, error) {
	if !r.mayHold(view(doc)) {
		return doc, nil
	}
	n, err := parseJSON(doc)
	if err != nil {
		return nil, err
	}
	r.clean(n, e)
	return n.encode(make([]byte, 0, len(doc))), nil
}

// isLabelKey reports whether a member called k names its siblings with its
// string value: {"name": "password", "value": "..."}.
func isLabelKey(k string) bool {
	var buf [32]byte
	norm, _ := appendNormalized(buf[:0], k, nil)
	switch string(norm) {
	case "name", "key", "field", "param", "parameter", "label", "type", "id", "header", "attribute", "property":
		return true
	}
	return false
}

func (r *Redactor) clean(n *node, e *Echoes) {
	switch n.kind {
	case '{':
		labelled := false
		for i, k := range n.keys {
			if v := n.kids[i]; v.kind == '"' && isLabelKey(k) && r.IsSecret(v.text) {
				labelled = true
			}
		}
		for i, k := range n.keys {
			n.keys[i] = r.Text(k, e)
			if r.IsSecret(k) || labelled && !isLabelKey(k) {
				e.addLeaves(n.kids[i])
				n.kids[i] = &node{kind: '"', text: Mask}
				continue
			}
			r.clean(n.kids[i], e)
		}
	case '[':
		for _, k := range n.kids {
			r.clean(k, e)
		}
	case '"':
		n.text = r.Text(n.text, e)
	case '0':
		if r.Text(n.text, e) != n.text {
			n.kind, n.text = '"', Mask
		}
	}
}

// echoJSON replaces, in every string and number of n, the values in e.
func echoJSON(n *node, e *Echoes) {
	switch n.kind {
	case '{':
		for i := range n.keys {
			n.keys[i] = e.Scrub(n.keys[i])
			echoJSON(n.kids[i], e)
		}
	case '[':
		for _, k := range n.kids {
			echoJSON(k, e)
		}
	case '"':
		n.text = e.Scrub(n.text)
	case '0':
		if e.Scrub(n.text) != n.text {
			n.kind, n.text = '"', Mask
		}
	}
}

// ScrubJSON returns doc with every value of e replaced inside its strings
// and numbers, so the result stays valid JSON. doc must be valid JSON
// (as JSON returns it); otherwise it is scrubbed as text.
func (e *Echoes) ScrubJSON(doc string) string {
	if !e.occurs(doc) {
		return doc
	}
	n, err := parseJSON([]byte(doc))
	if err != nil {
		return e.Scrub(doc)
	}
	echoJSON(n, e)
	return string(n.encode(make([]byte, 0, len(doc))))
}

// mergeSpans sorts spans and joins those that overlap or touch.
func mergeSpans(spans [][2]int) [][2]int {
	if len(spans) < 2 {
		return spans
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return a[0] - b[0] })
	out := spans[:1]
	for _, sp := range spans[1:] {
		last := &out[len(out)-1]
		if sp[0] <= last[1] {
			last[1] = max(last[1], sp[1])
			continue
		}
		out = append(out, sp)
	}
	return out
}
