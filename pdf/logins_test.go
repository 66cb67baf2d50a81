package pdf

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/stretchr/testify/assert"
)

// sampleLogins returns one login event of each status.
func sampleLogins() []*entities.LoginRow {
	at := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	req := entities.NewID()
	return []*entities.LoginRow{
		{LoginEvent: entities.LoginEvent{ID: entities.NewID(), Datetime: at, Status: entities.LoginSignIn, RequestID: &req, UserID: "42", Username: "joão.conceição"},
			IPAddress: "203.0.113.7", RequestStatusCode: 200, URL: "/api/token/"},
		{LoginEvent: entities.LoginEvent{ID: entities.NewID(), Datetime: at.Add(time.Hour), Status: entities.LoginSignOut, UserID: "42", Username: "joão.conceição"}},
		{LoginEvent: entities.LoginEvent{ID: entities.NewID(), Datetime: at.Add(2 * time.Hour), Status: entities.LoginFailed, Username: "invasor"},
			IPAddress: "198.51.100.9", RequestStatusCode: 401, URL: "/api/token/"},
	}
}

func TestLoginReport(t *testing.T) {
	logins := sampleLogins()
	b := render(t, func(w *bytes.Buffer) error {
		return WriteLoginReport(w, testMeta("Acessos"), rows(logins, nil))
	})
	text := pdfText(t, b, 0)
	assert.Contains(t, text, "Datetime (UTC) Status Username User IP Code URL")
	assert.Equal(t, 2, strings.Count(text, "joão.conceição"))
	assert.Contains(t, text, "Sign in")
	assert.Contains(t, text, "Sign out")
	assert.Contains(t, text, "Failed")
	assert.Contains(t, text, "2024-05-01 11:00:00")
	assert.Contains(t, text, "203.0.113.7")
	assert.Contains(t, text, "198.51.100.9 401 /api/token/")
	assert.Contains(t, text, "42", "without a UserName resolver the user is shown by id")

	named := testMeta("Acessos")
	named.UserName = func(id string) string { return map[string]string{"42": "joana"}[id] }
	text = pdfText(t, render(t, func(w *bytes.Buffer) error { return WriteLoginReport(w, named, rows(logins, nil)) }), 0)
	assert.Contains(t, text, "joana (42)", "the resolver names the user")
}

func TestLoginReportEmptyAndError(t *testing.T) {
	b := render(t, func(w *bytes.Buffer) error {
		return WriteLoginReport(w, testMeta("Acessos"), rows[entities.LoginRow](nil, nil))
	})
	assert.Contains(t, pdfText(t, b, 0), "No rows match these filters.")

	boom := errors.New("connection reset")
	err := WriteLoginReport(&bytes.Buffer{}, testMeta("Acessos"), rows(sampleLogins(), boom))
	assert.ErrorIs(t, err, boom)
}
