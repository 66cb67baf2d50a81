package audit_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// FuzzPipelinedRequests sends the same bytes, as pipelined requests on one
// keep-alive connection, to the compatibility router with and without the
// audit middleware: both must answer the same sequence, byte for byte
// (Date headers aside).
//
//	go test -run '^$' -fuzz FuzzPipelinedRequests -fuzztime 60s .
func FuzzPipelinedRequests(f *testing.F) {
	get := func(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n" }
	post := func(path, body string) string {
		return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", path, len(body), body)
	}
	chunked := func(path string, chunks ...string) string {
		var b strings.Builder
		b.WriteString("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")
		for _, c := range chunks {
			fmt.Fprintf(&b, "%x\r\n%s\r\n", len(c), c)
		}
		b.WriteString("0\r\n\r\n")
		return b.String()
	}
	smuggle := get("/api/smuggled/") + strings.Repeat("p", 2000)
	f.Add([]byte(get("/api/json/") + get("/api/abort/") + get("/api/redirect/")))
	f.Add([]byte(post("/api/limited/", smuggle) + get("/api/json/")))
	f.Add([]byte(post("/api/limited/", "small body") + get("/api/smuggled/") + "HEAD /api/json/ HTTP/1.1\r\nHost: x\r\n\r\n"))
	f.Add([]byte(chunked("/api/partial/", strings.Repeat("a", 80), strings.Repeat("b", 80), get("/api/smuggled/")) + get("/api/twice/")))
	f.Add([]byte("POST /api/early/ HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\nExpect: 100-continue\r\n\r\n" + get("/api/smuggled/") + strings.Repeat("z", 40)))
	f.Add([]byte(post("/api/limited/", "x") + "GARBAGE\r\n\r\n" + get("/api/json/")))

	download, _ := writeDownload(f)
	p := newCompatPair(f, download, auditFirst)
	f.Fuzz(func(t *testing.T, raw []byte) {
		plain := dateHeader.ReplaceAll(rawExchange(t, p.plain.url, raw), nil)
		audited := dateHeader.ReplaceAll(rawExchange(t, p.audited.url, raw), nil)
		if !bytes.Equal(plain, audited) {
			t.Fatalf("answers differ for %q:\nplain:   %q\naudited: %q", raw, clip(plain), clip(audited))
		}
	})
}

func clip(b []byte) []byte {
	if len(b) > 2000 {
		return b[:2000]
	}
	return b
}
