package audit

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// exchange stands between one audited request's handlers and net/http. It
// hands the handlers a shallow copy of the request whose body is tapped and
// a response writer that counts and taps what they write, and puts both
// back when the handlers return (or panic). net/http's own request is never
// modified while the handlers run, so its decisions after the handler
// (drain an unread body or close the connection, answer a 100-continue or
// not) are exactly the ones it makes without auditing.
type exchange struct {
	orig     *http.Request // the request net/http gave gin
	origBody io.ReadCloser // its body, put back at the end
	copy     http.Request  // what the handlers see when the body is tapped
	tapped   bool          // copy and reqBody are in use
	reqBody  requestTap

	writer          gin.ResponseWriter // the writer found at the start, put back at the end
	res             responseTap
	encodingAtStart string // Content-Encoding set by a middleware outside the audit

	// resHead holds the first bytes of the response body, so that a small
	// answer is captured without an allocation of its own. Its size fills
	// the allocation size class of auditedRequest (1,152 bytes, with the 8-byte type header) and it
	// comes last, after every pointer, so the garbage collector never
	// scans it.
	resHead [88]byte
}

// begin installs the taps. Request bodies are tapped only when they are to
// be stored; the response writer is always installed, since it also counts
// the bytes and notes a hijacked connection.
func (x *exchange) begin(c *gin.Context, tapRequest, tapResponse bool, maxBody int) {
	x.orig = c.Request
	if tapRequest && c.Request.Body != nil && c.Request.Body != http.NoBody {
		x.origBody = c.Request.Body
		x.reqBody = requestTap{body: c.Request.Body, bodyCapture: bodyCapture{max: maxBody}}
		x.copy = *c.Request
		x.copy.Body = &x.reqBody
		x.tapped = true
		c.Request = &x.copy
	}
	x.writer = c.Writer
	x.res = responseTap{ResponseWriter: c.Writer}
	if tapResponse {
		x.res.max = maxBody
		x.res.buf = x.resHead[:0]
		x.encodingAtStart = c.Writer.Header().Get("Content-Encoding")
	}
	c.Writer = &x.res
}

// end puts net/http's request and gin's writer back. What the handlers
// changed on their copy of the request (a parsed form, a multipart form
// whose files net/http removes after the handler) is carried over to the
// original, as if they had worked on it directly; only the body is the
// original's own.
func (x *exchange) end(c *gin.Context) {
	if c.Writer == &x.res {
		c.Writer = x.writer
	}
	if !x.tapped {
		return
	}
	switch {
	case c.Request == &x.copy:
		c.Request = x.orig
	case c.Request != nil && c.Request.Body == &x.reqBody:
		c.Request.Body = x.origBody // a request derived by a later middleware
	}
	*x.orig = x.copy
	x.orig.Body = x.origBody
}

// requestTap wraps the request body: the handler reads the real stream,
// and a copy of its beginning is kept.
type requestTap struct {
	body io.ReadCloser
	bodyCapture
	eof bool // the handler read to the end
}

func (r *requestTap) Read(p []byte) (int, error) {
	n, err := r.body.Read(p)
	r.keep(p[:n])
	if err == io.EOF {
		r.eof = true
	}
	return n, err
}

func (r *requestTap) Close() error { return r.body.Close() }

// responseTap wraps the response writer: it keeps the beginning of the
// body, counts every byte the handlers wrote through it, and notes a
// hijack. Every other method (Flush, Status, WriteHeader, ...) is the
// wrapped writer's own, and Unwrap lets http.ResponseController reach
// net/http's writer (deadlines, full duplex).
type responseTap struct {
	gin.ResponseWriter
	bodyCapture
	hijacked bool
}

func (w *responseTap) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.keep(p[:n])
	return n, err
}

func (w *responseTap) WriteString(s string) (int, error) {
	n, err := w.ResponseWriter.WriteString(s)
	keep(&w.bodyCapture, s[:n])
	return n, err
}

// Hijack notes that the connection left net/http (a WebSocket upgrade):
// what is written on it afterwards is not seen.
func (w *responseTap) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := w.ResponseWriter.Hijack()
	if err == nil {
		w.hijacked = true
	}
	return conn, rw, err
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *responseTap) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// status is the status that went on the wire. A hijacked upgrade request
// whose handler set no status was answered 101 Switching Protocols on the
// raw connection (gorilla/websocket writes it there); gin still says 200.
func (x *exchange) status(req *http.Request) int {
	st := x.writer.Status()
	if x.res.hijacked && st == http.StatusOK && isUpgrade(req) {
		return http.StatusSwitchingProtocols
	}
	return st
}

// responseSize is the number of body bytes the handlers wrote through the
// audit's writer: what passed through, not what an outer middleware (gzip)
// had flushed when the audit finished. A HEAD answer has no body on the
// wire, so its size is 0.
func (x *exchange) responseSize(req *http.Request) int64 {
	if req.Method == http.MethodHead {
		return 0
	}
	return x.res.total
}

func isUpgrade(r *http.Request) bool {
	return r.Header.Get("Upgrade") != "" && headerHasToken(r.Header.Get("Connection"), "upgrade")
}

func headerHasToken(v, token string) bool {
	for part := range strings.SplitSeq(v, ",") {
		if strings.EqualFold(strings.TrimSpace(part), token) {
			return true
		}
	}
	return false
}
