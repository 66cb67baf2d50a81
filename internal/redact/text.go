package redact

import (
	"net/url"
	"sort"
	"strings"
)

// Text returns s with secrets masked, for free text (URL paths, error
// messages, stack traces, descriptions, log lines): the value after a
// secret name in "name=value", "name: value", `"name":"value"` and
// <name>value</name>; every span a detector recognises; and, when s is a
// JSON document, what JSON masks. Masked values are added to e (which may
// be nil). It returns s itself, without allocating, when nothing is
// masked.
func (r *Redactor) Text(s string, e *Echoes) string {
	if s == "" {
		return s
	}
	if LooksLikeJSON(s) && r.mayHold(s) {
		out, err := r.JSON([]byte(s), e)
		switch err {
		case nil:
			return string(out)
		case ErrTooDeep:
			e.add(s)
			return Mask
		}
	}
	var buf [8][2]int
	spans := r.nameSpans(s, buf[:0])
	spans = r.detect(s, spans)
	if len(spans) == 0 {
		return s
	}
	spans = mergeSpans(spans)
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, sp := range spans {
		e.add(s[sp[0]:sp[1]])
		b.WriteString(s[last:sp[0]])
		b.WriteString(Mask)
		last = sp[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

// LooksLikeJSON reports whether s starts, after white space, like a JSON
// object or array.
func LooksLikeJSON[T ~string | ~[]byte](s T) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
			continue
		case '{', '[':
			return true
		}
		return false
	}
	return false
}

// isNameByte reports whether c may be part of a name written before "=" or
// ":" in free text ("user[password]", "api.key", "X-Auth-Token").
func isNameByte(c byte) bool {
	return isLetter(c) || isDigit(c) || c == '_' || c == '-' || c == '.' || c == '[' || c == ']' || c >= 0x80
}

// maxNameBytes bounds how far back a name is looked for.
const maxNameBytes = 128

// nameSpans appends the spans of values written after secret names.
func (r *Redactor) nameSpans(s string, dst [][2]int) [][2]int {
	if r.keys.empty() {
		return dst
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '=' && c != ':' && c != '>' {
			continue
		}
		if c == '>' {
			if start, end, ok := r.xmlValue(s, i); ok {
				dst = append(dst, [2]int{start, end})
				i = end - 1
			}
			continue
		}
		if c == ':' && i+1 < len(s) && (s[i+1] == ':' || s[i+1] == '/') {
			continue // "::", "scheme://"
		}
		name := nameBefore(s, i)
		if strings.HasSuffix(name, ".go") || !r.IsSecret(name) {
			continue // "auth_jwt.go:123" in a stack trace is a file and line
		}
		if start, end := valueAfter(s, i+1, c); end > start {
			dst = append(dst, [2]int{start, end})
			i = end - 1
		}
	}
	return dst
}

// nameBefore returns the name written before the separator at s[i]:
// quoted ("name", 'name', \"name\") or a run of name bytes.
func nameBefore(s string, i int) string {
	k := i
	for k > 0 && (s[k-1] == ' ' || s[k-1] == '\t') {
		k--
	}
	if k == 0 {
		return ""
	}
	lo := max(0, k-1-maxNameBytes)
	if q := s[k-1]; q == '"' || q == '\'' {
		end := k - 1
		quote := s[end : end+1]
		if end > 0 && s[end-1] == '\\' {
			end--
			quote = `\"`
		}
		if open := strings.LastIndex(s[lo:end], quote); open >= 0 {
			return s[lo+open+len(quote) : end]
		}
		return ""
	}
	j := k
	for j > lo && isNameByte(s[j-1]) {
		j--
	}
	return s[j:k]
}

// valueAfter returns the span of the value that starts at s[v] (after
// spaces): a quoted string's contents, a bracketed object or array, or a
// bare word ending at a space or delimiter ("=") or at the end of the line
// (":").
func valueAfter(s string, v int, sep byte) (int, int) {
	for v < len(s) && (s[v] == ' ' || s[v] == '\t') {
		v++
	}
	if v >= len(s) {
		return v, v
	}
	switch c := s[v]; {
	case c == '"' || c == '\'':
		start := v + 1
		for j := start; j < len(s); j++ {
			if s[j] == '\\' {
				if j+1 < len(s) && s[j+1] == c && c == '"' && j > start {
					return start, j // \" closes a value opened by \"
				}
				j++
				continue
			}
			if s[j] == c {
				return start, j
			}
		}
		return start, len(s)
	case c == '\\' && v+1 < len(s) && s[v+1] == '"':
		start := v + 2
		if end := strings.Index(s[start:], `\"`); end >= 0 {
			return start, start + end
		}
		return start, len(s)
	case c == '{' || c == '[':
		depth := 0
		for j := v; j < len(s); j++ {
			switch s[j] {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return v, j + 1
				}
			}
		}
		return v, len(s)
	}
	end := v
	for end < len(s) {
		c := s[end]
		if c == '\n' || c == '\r' || c == ',' || c == ';' || c == '}' || c == ']' || c == '"' || c == '\'' || c == '<' || c == '>' ||
			sep == '=' && (c == ' ' || c == '\t' || c == '&' || c == ')') {
			break
		}
		end++
	}
	return v, end
}

// xmlValue returns the text of an element whose start tag ends at s[i]
// ('>') and whose name is a secret.
func (r *Redactor) xmlValue(s string, i int) (int, int, bool) {
	lo := max(0, i-2*maxNameBytes)
	lt := strings.LastIndexByte(s[lo:i], '<')
	if lt < 0 {
		return 0, 0, false
	}
	tag := s[lo+lt+1 : i]
	if tag == "" || tag[0] == '/' || tag[0] == '!' || tag[0] == '?' {
		return 0, 0, false
	}
	if sp := strings.IndexAny(tag, " \t\r\n/"); sp >= 0 {
		tag = tag[:sp]
	}
	if c := strings.LastIndexByte(tag, ':'); c >= 0 {
		tag = tag[c+1:]
	}
	if !r.IsSecret(tag) {
		return 0, 0, false
	}
	start := i + 1
	if strings.HasPrefix(s[start:], "<![CDATA[") {
		if end := strings.Index(s[start:], "]]>"); end >= 0 {
			return start, start + end + 3, true
		}
		return start, len(s), true
	}
	end := strings.IndexByte(s[start:], '<')
	if end < 0 {
		end = len(s) - start
	}
	return start, start + end, end > 0
}

// Query returns a query string (or an application/x-www-form-urlencoded
// body) with the value of every secret parameter replaced by Mask, and
// every other value masked where Text masks it (a detector's shape, a
// nested "name=value" or JSON document). Parameter order and the encoding
// of untouched parameters are kept. Masked values are added to e (which
// may be nil).
func (r *Redactor) Query(raw string, e *Echoes) string {
	if raw == "" || !strings.ContainsAny(raw, "%+") && !r.mayHold(raw) {
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
		name, value, hasValue := strings.Cut(part, "=")
		dn := queryDecode(name)
		if r.IsSecret(dn) {
			changed = true
			e.add(queryDecode(value))
			e.add(value)
			b.WriteString(name)
			b.WriteByte('=')
			b.WriteString(Mask)
			continue
		}
		if cn := r.Text(dn, e); cn != dn {
			changed = true
			name = queryEscape(cn)
		}
		if hasValue {
			dv := queryDecode(value)
			if cv := r.Text(dv, e); cv != dv {
				changed = true
				value = queryEscape(cv)
			}
		}
		b.WriteString(name)
		if hasValue {
			b.WriteByte('=')
			b.WriteString(value)
		}
	}
	if !changed {
		return raw
	}
	return b.String()
}

// queryEscape escapes s for a query, leaving the mask's '*' readable.
func queryEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "%2A", "*")
}

// queryDecode decodes the escapes of a query name or value, so that
// "pass%77ord" or "api%5Fkey" cannot slip past the check. Malformed
// escapes are kept as they are.
func queryDecode(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
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

// Echoes collects the secret values masked while cleaning one request, so
// that they can be scrubbed from every other field of its rows (an error
// message quoting the password, a token echoed in a stack trace). The zero
// value is ready to use; a nil *Echoes collects nothing. It is not safe for
// concurrent use.
type Echoes struct {
	values []string
	sorted bool
}

// MinEcho is the shortest value scrubbed as an echo: shorter masked values
// ("1", "no") would erase unrelated text.
const MinEcho = 4

// maxEchoes bounds the values remembered for one request.
const maxEchoes = 256

// Len is the number of values remembered.
func (e *Echoes) Len() int {
	if e == nil {
		return 0
	}
	return len(e.values)
}

// Add remembers v, and its JSON-escaped and URL-escaped spellings, as a
// secret of this request.
func (e *Echoes) Add(v string) { e.add(v) }

func (e *Echoes) add(v string) {
	if e == nil {
		return
	}
	v = strings.TrimSpace(v)
	if len(v) < MinEcho || strings.Trim(v, "*") == "" {
		return
	}
	e.put(v)
	if esc := appendString(nil, v); len(esc) != len(v)+2 {
		e.put(string(esc[1 : len(esc)-1]))
	}
	if esc := url.QueryEscape(v); esc != v {
		e.put(esc)
	}
}

func (e *Echoes) put(v string) {
	if len(e.values) >= maxEchoes {
		return
	}
	for _, have := range e.values {
		if have == v {
			return
		}
	}
	e.values = append(e.values, v)
	e.sorted = false
}

// addLeaves remembers every string and number under n.
func (e *Echoes) addLeaves(n *node) {
	if e == nil {
		return
	}
	switch n.kind {
	case '{', '[':
		for _, k := range n.kids {
			e.addLeaves(k)
		}
	case '"', '0':
		e.add(n.text)
	}
}

func (e *Echoes) occurs(s string) bool {
	if e.Len() == 0 || s == "" {
		return false
	}
	for _, v := range e.values {
		if strings.Contains(s, v) {
			return true
		}
	}
	return false
}

// Scrub returns s with every remembered value replaced by Mask, longest
// first. It returns s itself when none occurs.
func (e *Echoes) Scrub(s string) string {
	if !e.occurs(s) {
		return s
	}
	if !e.sorted {
		sort.SliceStable(e.values, func(i, j int) bool { return len(e.values[i]) > len(e.values[j]) })
		e.sorted = true
	}
	for _, v := range e.values {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, Mask)
		}
	}
	return s
}
