package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sampleRequests returns n request events.
func sampleRequests(n int) []*entities.RequestEvent {
	at := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	list := make([]*entities.RequestEvent, n)
	for i := range list {
		list[i] = &entities.RequestEvent{
			ID:             entities.NewID(),
			Datetime:       at.Add(time.Duration(i) * time.Second),
			Method:         []string{"GET", "POST", "PUT", "DELETE"}[i%4],
			URL:            fmt.Sprintf("/api/produtos/%d/ações", i),
			StatusCode:     []int{200, 201, 404, 500}[i%4],
			ResponseTimeMS: float64(i%97) + 0.25,
			UserID:         fmt.Sprintf("user-%d", i%7),
			IPAddress:      "10.0.0." + fmt.Sprint(i%250),
		}
	}
	return list
}

func TestRequestReportColumns(t *testing.T) {
	b := render(t, func(w *bytes.Buffer) error {
		return WriteRequestReport(w, testMeta("Requisições"), rows(sampleRequests(4), nil))
	})
	text := pdfText(t, b, 0)
	assert.Contains(t, text, "Requisições")
	assert.Contains(t, text, "Datetime (UTC) Method URL Status Time ms User IP")
	assert.Contains(t, text, "2024-05-01 08:00:03 DELETE /api/produtos/3/ações 500 3.2 user-3 10.0.0.3")
}

func TestRequestReportRepeatsHeaderOnEveryPage(t *testing.T) {
	b := render(t, func(w *bytes.Buffer) error {
		return WriteRequestReport(w, testMeta("Requisições da API"), rows(sampleRequests(300), nil))
	})
	n := pageCount(t, b)
	require.Greater(t, n, 1, "300 requests need more than one page")
	all := pdfText(t, b, 0)
	for page := 1; page <= n; page++ {
		text := pdfText(t, b, page)
		assert.Contains(t, text, "Requisições da API", "page %d has the title", page)
		assert.Contains(t, text, fmt.Sprintf("Page %d", page), "page %d has its number", page)
		assert.Contains(t, text, "Datetime (UTC) Method URL", "page %d repeats the table header", page)
	}
	for _, i := range []int{0, 150, 299} {
		assert.Contains(t, all, fmt.Sprintf("/api/produtos/%d/ações", i))
	}
}

func TestRequestReportWrapsLongURLWithoutLosingText(t *testing.T) {
	var url strings.Builder
	url.WriteString("/api/busca?q=")
	for url.Len() < 500 {
		url.WriteString("ação")
		url.WriteString(fmt.Sprint(url.Len()))
	}
	r := sampleRequests(1)[0]
	r.URL = url.String()
	b := render(t, func(w *bytes.Buffer) error {
		return WriteRequestReport(w, testMeta("Requisições"), rows([]*entities.RequestEvent{r}, nil))
	})
	text := pdfText(t, b, 0)
	squeezed := strings.Join(strings.Fields(text), "")
	assert.Contains(t, squeezed, r.URL, "every character of the wrapped URL is drawn")
	assert.Greater(t, strings.Count(text, "\n"), 10, "the URL spans several lines")
}

func TestRequestReportSurvivesNULAndInvalidUTF8(t *testing.T) {
	r := sampleRequests(1)[0]
	r.URL = "/api/\x00evil\xc3\x28path"
	r.UserID = "\xff\xff"
	r.IPAddress = "\x00"
	b := render(t, func(w *bytes.Buffer) error {
		return WriteRequestReport(w, testMeta("Requisições"), rows([]*entities.RequestEvent{r}, nil))
	})
	assert.Contains(t, pdfText(t, b, 0), "/api/evil")
}

func TestRequestReportEmptyAndError(t *testing.T) {
	b := render(t, func(w *bytes.Buffer) error {
		return WriteRequestReport(w, testMeta("Requisições"), rows[entities.RequestEvent](nil, nil))
	})
	assert.Contains(t, pdfText(t, b, 0), "No rows match these filters.")

	boom := errors.New("query timeout")
	var buf bytes.Buffer
	err := WriteRequestReport(&buf, testMeta("Requisições"), rows(sampleRequests(3), boom))
	assert.ErrorIs(t, err, boom)
	assert.Zero(t, buf.Len())
}
