package audit

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"strings"
)

var gzipMagic = []byte{0x1f, 0x8b}

// zlibHeader reports whether b starts with a zlib header (RFC 1950), the
// framing of the "deflate" content coding.
func zlibHeader(b []byte) bool {
	return len(b) >= 2 && b[0]&0x0f == 8 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0
}

// decode replaces b's bytes by their decoded form, up to the body cap, when
// enc is a content coding the audit reads (gzip, deflate). encodedOutside
// says the coding was set by a middleware outside the audit, which encodes
// after the audit saw the bytes. It reports false, with the note to store
// instead, for a coding the audit cannot read or bytes that do not decode.
func (p *policy) decode(b *capturedBody, enc string, encodedOutside bool) (note string, ok bool) {
	coding := strings.ToLower(strings.TrimSpace(enc))
	var (
		r   io.Reader
		err error
	)
	switch coding {
	case "", "identity":
		return "", true
	case "gzip", "x-gzip":
		if !bytes.HasPrefix(b.head, gzipMagic) {
			return "", true // not gzip bytes: they were encoded after the audit saw them
		}
		r, err = gzip.NewReader(bytes.NewReader(b.head))
	case "deflate":
		switch {
		case zlibHeader(b.head):
			r, err = zlib.NewReader(bytes.NewReader(b.head))
		case encodedOutside:
			return "", true
		default:
			r = flate.NewReader(bytes.NewReader(b.head)) // raw deflate, as some servers send it
		}
	default:
		if encodedOutside {
			return "", true
		}
		return fmt.Sprintf("[audit: %s-encoded body of %d bytes not stored]", noteType(coding), b.total), false
	}
	var out []byte
	if err == nil {
		out, err = io.ReadAll(io.LimitReader(r, int64(p.maxBody)+1))
	}
	cut := errors.Is(err, io.ErrUnexpectedEOF) && b.truncated() // the capture ended mid-stream
	if err != nil && !cut || len(out) == 0 && b.total != 0 {
		return fmt.Sprintf("[audit: %s-encoded body of %d bytes not stored: it does not decode]", noteType(coding), b.total), false
	}
	complete := !cut && !b.truncated() && len(out) <= p.maxBody
	b.encoding = coding
	b.head = out[:min(len(out), p.maxBody)]
	if complete {
		b.total = int64(len(b.head))
	} else {
		b.total = -1
	}
	return "", true
}
