package audit

import (
	"testing"

	"github.com/gin-audit-trail/audit/entities"
)

// BenchmarkMaskPingRequest is the masking work the middleware does for the
// benchmark's ping request (GET /api/ping/ answered {"status":"ok"}): the
// query, the response body, and every column of the request's row, names,
// shapes and echoes. Compare it with BenchmarkMiddleware/bare-gin of the
// same run:
//
//	go test -run '^$' -bench 'MaskPingRequest|Middleware/bare-gin' -benchmem -count 6 .
func BenchmarkMaskPingRequest(b *testing.B) {
	pol, err := compilePolicy(Options{})
	if err != nil {
		b.Fatal(err)
	}
	t := &Trail{policy: pol}
	res := capturedBody{head: []byte(`{"status":"ok"}`), total: 15, contentType: "application/json; charset=utf-8"}
	b.ReportAllocs()
	for b.Loop() {
		var ev Event
		row := entities.RequestEvent{URL: "/api/ping/", Method: "GET", IPAddress: "192.0.2.1"}
		row.QueryParams = pol.redactor.Query("", &ev.echoes)
		row.ResponseBody = pol.storedBody(res, &ev.echoes)
		batch := entities.Batch{Requests: []entities.RequestEvent{row}}
		t.cleanBatch(&batch, &ev.echoes)
	}
}
