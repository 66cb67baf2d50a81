package audit

import (
	"fmt"
	"io"
	"strings"

	"github.com/gin-audit-trail/audit/internal/redact"
	"github.com/gin-gonic/gin"
)

// bodyCapture keeps the first max bytes that pass through it and counts
// the rest, so bodies of any size stream without being buffered.
type bodyCapture struct {
	buf   []byte
	max   int
	total int64
}

func (b *bodyCapture) keep(p []byte) { keep(b, p) }

// keep is bodyCapture.keep for bytes and strings alike, so WriteString
// does not convert (and copy) its argument.
func keep[T ~string | ~[]byte](b *bodyCapture, p T) {
	b.total += int64(len(p))
	if room := b.max - len(b.buf); room > 0 {
		if len(p) > room {
			p = p[:room]
		}
		b.buf = append(b.buf, p...)
	}
}

func (b *bodyCapture) truncated() bool { return b.total > int64(len(b.buf)) }

// requestTee wraps the request body: the handler reads the real stream, and
// a copy of its beginning is kept.
type requestTee struct {
	io.ReadCloser
	bodyCapture
}

func (r *requestTee) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	r.keep(p[:n])
	return n, err
}

// responseTee wraps gin's ResponseWriter and keeps the beginning of the
// body. Every other method (Flush, Hijack, Status, ...) is gin's own.
type responseTee struct {
	gin.ResponseWriter
	bodyCapture
}

func (w *responseTee) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.keep(p[:n])
	return n, err
}

func (w *responseTee) WriteString(s string) (int, error) {
	n, err := w.ResponseWriter.WriteString(s)
	keep(&w.bodyCapture, s[:n])
	return n, err
}

// mediaType is the lower-case media type of a Content-Type value, without
// parameters. Unlike mime.ParseMediaType it allocates nothing for the
// usual, already lower-case values.
func mediaType(contentType string) string {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// textual reports whether a body of this content type is worth storing as
// text. An absent content type counts as text: the bytes are cleaned anyway.
func textual(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt := mediaType(contentType)
	return strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "json") || strings.HasSuffix(mt, "xml") ||
		mt == "application/x-www-form-urlencoded" || mt == "application/javascript"
}

func isJSON(contentType string) bool {
	return strings.HasSuffix(mediaType(contentType), "json")
}

// storedBody turns captured bytes into the stored text: JSON as JSON text
// with secrets masked, form bodies with secret fields masked, other text
// with secrets masked where they can be found, binary bodies as a note,
// and a note whenever something was cut or left out, or cannot be checked
// for secrets. Masked values are added to e.
func (p *policy) storedBody(c *bodyCapture, contentType string, declaredLength int64, e *redact.Echoes) string {
	if c == nil || c.total == 0 {
		return ""
	}
	total := c.total
	if declaredLength > total {
		total = declaredLength // the handler did not read it all
	}
	if !textual(contentType) {
		return fmt.Sprintf("[audit: %s body of %d bytes not stored]", noteType(contentType), total)
	}
	if c.truncated() || total > int64(len(c.buf)) {
		// A cut body cannot be parsed for secrets: a cut JSON body is kept
		// only if nothing in its beginning looks like a secret name.
		head := string(c.buf)
		if p.containsSecretName(head) {
			return fmt.Sprintf("[audit: body of %d bytes not stored: larger than %d bytes and may hold secrets]", total, p.maxBody)
		}
		return p.redactor.Text(head, e) + fmt.Sprintf("\n[audit: body truncated, %d of %d bytes stored]", len(c.buf), total)
	}
	switch {
	case isJSON(contentType) || looksLikeJSON(c.buf):
		out, err := p.redactor.JSON(c.buf, e)
		if err == nil {
			return string(out)
		}
		if err == redact.ErrTooDeep || p.containsSecretName(string(c.buf)) {
			return fmt.Sprintf("[audit: body of %d bytes not stored: %s]", total, noteReason(err))
		}
		return p.redactor.Text(string(c.buf), e)
	case mediaType(contentType) == "application/x-www-form-urlencoded":
		return p.redactor.Query(string(c.buf), e)
	}
	if p.containsSecretName(string(c.buf)) {
		return fmt.Sprintf("[audit: %s body of %d bytes not stored: it may hold secrets]", noteType(contentType), total)
	}
	return p.redactor.Text(string(c.buf), e)
}

func looksLikeJSON(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{', '[':
			return true
		}
		return false
	}
	return false
}

// containsSecretName reports whether text mentions any secret key, for text
// that cannot be parsed and masked field by field.
func (p *policy) containsSecretName(text string) bool {
	return p.redactor.Mentions(text)
}
