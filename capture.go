package audit

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-audit-trail/audit/internal/redact"
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

// capturedBody is a body as the audit saw it, ready to be turned into the
// stored text.
type capturedBody struct {
	head        []byte // its first bytes (decoded, when it was content-encoded)
	total       int64  // its length; -1 when unknown: the handler stopped reading a body of unknown length
	contentType string
	encoding    string // the content coding that was decoded, "" for none
}

func (b capturedBody) truncated() bool { return b.total < 0 || b.total > int64(len(b.head)) }

// truncationNote says what was cut.
func (b capturedBody) truncationNote() string {
	what := "body"
	if b.encoding != "" {
		what = b.encoding + "-decoded body"
	}
	switch {
	case b.total < 0 && b.encoding != "":
		return fmt.Sprintf("\n[audit: %s truncated, %d bytes stored]", what, len(b.head))
	case b.total < 0:
		return fmt.Sprintf("\n[audit: %s truncated, %d bytes stored; the handler stopped reading before its end]", what, len(b.head))
	}
	return fmt.Sprintf("\n[audit: %s truncated, %d of %d bytes stored]", what, len(b.head), b.total)
}

// maxNoteType bounds the content type or coding quoted in a note, so that a
// huge header cannot make a note larger than the body cap.
const maxNoteType = 100

func noteType(s string) string {
	s = mediaType(s)
	if len(s) > maxNoteType {
		s = s[:maxNoteType] + "..."
	}
	return s
}

// storedBody turns a captured body into the stored text: JSON as JSON text
// with secrets masked, form bodies with secret fields masked, other text
// with secrets masked where they can be found, binary bodies as a note,
// and a note whenever something was cut or left out, or cannot be checked
// for secrets. Masked values are added to e.
func (p *policy) storedBody(b capturedBody, e *redact.Echoes) string {
	if len(b.head) == 0 && b.total == 0 {
		return ""
	}
	if !textual(b.contentType) {
		return fmt.Sprintf("[audit: %s body of %d bytes not stored]", noteType(b.contentType), b.total)
	}
	if b.truncated() {
		// A cut body cannot be parsed for secrets: a cut JSON body is kept
		// only if nothing in its beginning looks like a secret name.
		head := string(b.head)
		if p.containsSecretName(head) {
			return fmt.Sprintf("[audit: body of %d bytes not stored: larger than %d bytes and may hold secrets]", b.total, p.maxBody)
		}
		return p.redactor.Text(head, e) + b.truncationNote()
	}
	switch {
	case isJSON(b.contentType) || redact.LooksLikeJSON(b.head):
		out, err := p.redactor.JSON(b.head, e)
		if err == nil {
			return string(out)
		}
		if err == redact.ErrTooDeep || p.containsSecretName(string(b.head)) {
			return fmt.Sprintf("[audit: body of %d bytes not stored: %s]", b.total, noteReason(err))
		}
		return p.redactor.Text(string(b.head), e)
	case mediaType(b.contentType) == "application/x-www-form-urlencoded":
		return p.redactor.Query(string(b.head), e)
	}
	if p.containsSecretName(string(b.head)) {
		return fmt.Sprintf("[audit: %s body of %d bytes not stored: it may hold secrets]", noteType(b.contentType), b.total)
	}
	return p.redactor.Text(string(b.head), e)
}

// requestBody is what to store of a tapped request body.
func (p *policy) requestBody(tap *requestTap, req *http.Request, e *redact.Echoes) string {
	declared := req.ContentLength
	if tap.total == 0 {
		switch {
		case declared > 0:
			return fmt.Sprintf("[audit: body of %d bytes not read by the handler]", declared)
		case declared < 0 && !tap.eof:
			return "[audit: body not read by the handler]"
		}
		return ""
	}
	b := capturedBody{head: tap.buf, total: tap.total, contentType: req.Header.Get("Content-Type")}
	switch {
	case declared > b.total:
		b.total = declared // the handler did not read it all
	case declared < 0 && !tap.eof:
		b.total = -1 // a body of unknown length, not read to its end
	}
	if enc := req.Header.Get("Content-Encoding"); enc != "" {
		if note, ok := p.decode(&b, enc, false); !ok {
			return note
		}
	}
	return p.storedBody(b, e)
}

// responseBody is what to store of a response body. encodingAtStart is the
// Content-Encoding that a middleware outside the audit had set before the
// handlers ran: that middleware encodes after the audit, which saw the
// bytes before encoding.
func (p *policy) responseBody(tap *responseTap, header http.Header, encodingAtStart string, e *redact.Echoes) string {
	b := capturedBody{head: tap.buf, total: tap.total, contentType: header.Get("Content-Type")}
	if enc := header.Get("Content-Encoding"); enc != "" {
		if note, ok := p.decode(&b, enc, enc == encodingAtStart); !ok {
			return note
		}
	}
	return p.storedBody(b, e)
}

// containsSecretName reports whether text mentions any secret key, for text
// that cannot be parsed and masked field by field.
func (p *policy) containsSecretName(text string) bool {
	return p.redactor.Mentions(text)
}
