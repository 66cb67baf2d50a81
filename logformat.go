package audit

import (
	"fmt"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// LogFormatter returns a formatter for gin.LoggerWithFormatter that writes
// gin's default access log line with secrets masked the way the trail
// masks them: secret query parameters, values of a recognised shape in the
// path and query (a JWT as a path segment, a card number), secret values
// in gin's error text, and, for an audited request, every value masked in
// its stored rows. gin.Logger() logs the raw path and query string, so an
// application that audits should log with this instead:
//
//	router.Use(gin.LoggerWithFormatter(trail.LogFormatter()), gin.Recovery(), trail.Middleware())
func (t *Trail) LogFormatter() gin.LogFormatter {
	r := t.policy.redactor
	return func(p gin.LogFormatterParams) string {
		path, query, hasQuery := strings.Cut(p.Path, "?")
		masked := r.Text(path, nil)
		if hasQuery {
			masked += "?" + r.Query(query, nil)
		}
		p.Path = masked
		p.ErrorMessage = r.Text(p.ErrorMessage, nil)
		if ev, ok := p.Keys[ContextKey].(*Event); ok && ev.trail == t {
			p.Path = ev.echoes.Scrub(p.Path)
			p.ErrorMessage = ev.echoes.Scrub(p.ErrorMessage)
		}
		return formatLogLine(p)
	}
}

// formatLogLine is gin's default log line.
func formatLogLine(p gin.LogFormatterParams) string {
	var statusColor, methodColor, resetColor string
	if p.IsOutputColor() {
		statusColor, methodColor, resetColor = p.StatusCodeColor(), p.MethodColor(), p.ResetColor()
	}
	if p.Latency > time.Minute {
		p.Latency = p.Latency.Truncate(time.Second)
	}
	return fmt.Sprintf("[GIN] %v |%s %3d %s| %13v | %15s |%s %-7s %s %#v\n%s",
		p.TimeStamp.Format("2006/01/02 - 15:04:05"),
		statusColor, p.StatusCode, resetColor,
		p.Latency,
		p.ClientIP,
		methodColor, p.Method, resetColor,
		p.Path,
		p.ErrorMessage,
	)
}
