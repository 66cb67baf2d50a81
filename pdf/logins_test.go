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
func sampleLogins() []*entities.LoginEvent {
	at := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	req := entities.NewID()
	return []*entities.LoginEvent{
		{ID: entities.NewID(), Datetime: at, Status: entities.LoginSignIn, RequestID: &req, UserID: "42", Username: "joão.conceição"},
		{ID: entities.NewID(), Datetime: at.Add(time.Hour), Status: entities.LoginSignOut, UserID: "42", Username: "joão.conceição"},
		{ID: entities.NewID(), Datetime: at.Add(2 * time.Hour), Status: entities.LoginFailed, Username: "invasor"},
	}
}

func TestLoginReport(t *testing.T) {
	logins := sampleLogins()
	b := render(t, func(w *bytes.Buffer) error {
		return WriteLoginReport(w, testMeta("Acessos"), rows(logins, nil))
	})
	text := pdfText(t, b, 0)
	assert.Contains(t, text, "Datetime (UTC) Status Username User ID Request ID")
	assert.Equal(t, 2, strings.Count(text, "joão.conceição"))
	assert.Contains(t, text, "Sign in")
	assert.Contains(t, text, "Sign out")
	assert.Contains(t, text, "Failed")
	assert.Contains(t, text, "2024-05-01 11:00:00")
	assert.Contains(t, strings.Join(strings.Fields(text), ""), logins[0].RequestID.String())
}

func TestLoginReportEmptyAndError(t *testing.T) {
	b := render(t, func(w *bytes.Buffer) error {
		return WriteLoginReport(w, testMeta("Acessos"), rows[entities.LoginEvent](nil, nil))
	})
	assert.Contains(t, pdfText(t, b, 0), "No rows match these filters.")

	boom := errors.New("connection reset")
	err := WriteLoginReport(&bytes.Buffer{}, testMeta("Acessos"), rows(sampleLogins(), boom))
	assert.ErrorIs(t, err, boom)
}
