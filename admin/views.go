package admin

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/integrity"
	"github.com/gin-gonic/gin"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/admin.css
var adminCSS []byte

// pages are the viewer's templates, each rendered inside layout.html.
var pages = []string{"requests", "request", "logins", "processes", "process", "steps", "registrations", "endpoints", "error"}

// views holds one parsed template set per page.
type views struct {
	pages map[string]*template.Template
}

func loadViews() (*views, error) {
	v := &views{pages: map[string]*template.Template{}}
	for _, p := range pages {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/tree.html", "templates/"+p+".html")
		if err != nil {
			return nil, fmt.Errorf("admin: parse template %s: %w", p, err)
		}
		v.pages[p] = t
	}
	return v, nil
}

// pageData is what every page template receives.
type pageData struct {
	Title string     // the viewer's title (Config.Title)
	Page  string     // this page's heading
	Nav   string     // the active section
	Base  string     // the mount path, no trailing slash
	Query url.Values // the current filters
	PDF   string     // the PDF report of the current view, "" if none
	Data  any
	// Verified is the latest recorded integrity verification, nil when
	// none was run.
	Verified *integrity.Verification
}

// render writes page with status, buffering so a template error becomes a
// clean 500.
func (h *handlers) render(c *gin.Context, status int, page string, d pageData) {
	d.Title, d.Base = h.cfg.Title, h.base
	if v, err := integrity.LastVerification(c.Request.Context(), h.db); err == nil {
		d.Verified = v // a failure to read it hides the badge; the page still renders
	}
	if d.Query == nil {
		d.Query = url.Values{}
	}
	var buf bytes.Buffer
	if err := h.views.pages[page].Execute(&buf, d); err != nil {
		fail(c, fmt.Errorf("admin: render %s: %w", page, err))
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// renderError shows err as an HTML page with its status.
func (h *handlers) renderError(c *gin.Context, nav string, q url.Values, err error) {
	status, msg := errorStatus(err)
	if status >= 500 {
		fail(c, err) // logs; answers JSON only if rendering would fail too
		return
	}
	h.render(c, status, "error", pageData{Page: http.StatusText(status), Nav: nav, Query: q, Data: msg})
}

func serveCSS(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=3600")
	c.Data(http.StatusOK, "text/css; charset=utf-8", adminCSS)
}

var funcs = template.FuncMap{
	"fmtTime": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05.000")
	},
	"ms":   func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"pct":  func(v float64) string { return fmt.Sprintf("%.1f%%", v*100) },
	"get":  func(v url.Values, k string) string { return v.Get(k) },
	"is":   func(v url.Values, k, want string) bool { return strings.EqualFold(v.Get(k), want) },
	"link": link,
	"statusClass": func(code int) string {
		switch {
		case code >= 500:
			return "bad"
		case code >= 400:
			return "warn"
		case code >= 300:
			return "info"
		}
		return "good"
	},
	"loginClass": func(status string) string {
		switch status {
		case entities.LoginFailed:
			return "bad"
		case entities.LoginSignOut:
			return "info"
		}
		return "good"
	},
	"outcomeClass": func(o entities.Outcome) string {
		switch o {
		case entities.OutcomeSuccess:
			return "good"
		case entities.OutcomeFailed:
			return "bad"
		}
		return "muted"
	},
	"pretty": pretty,
	"who":    who,
	"list":   func(s ...string) []string { return s },
	"node":   func(base string, p processView) treeNode { return treeNode{base, p} },
	"bar":    bar,
	"times":  func(n int) []struct{} { return make([]struct{}, n) },
	"deref": func(id *entities.ID) string {
		if id == nil {
			return ""
		}
		return id.String()
	},
}

// treeNode is what the "process" template draws.
type treeNode struct {
	Base string
	P    processView
}

// link is path with the values of q, replaced by the key/value pairs of
// set (an empty value removes the key).
func link(path string, q url.Values, set ...string) string {
	v := url.Values{}
	for k, vals := range q {
		if len(vals) > 0 && vals[0] != "" {
			v.Set(k, vals[0])
		}
	}
	for i := 0; i+1 < len(set); i += 2 {
		if set[i+1] == "" {
			v.Del(set[i])
		} else {
			v.Set(set[i], set[i+1])
		}
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// pretty indents a JSON body; other text is returned as it is.
func pretty(s string) string {
	t := strings.TrimSpace(s)
	if t == "" || (t[0] != '{' && t[0] != '[') {
		return s
	}
	var buf bytes.Buffer
	if json.Indent(&buf, []byte(t), "", "  ") != nil {
		return s
	}
	return buf.String()
}

// bar is the CSS class of a bar v long on a scale of max: w0 to w100.
func bar(v, max float64) string {
	if max <= 0 || v <= 0 {
		return "w0"
	}
	n := int(math.Ceil(v / max * 100))
	return fmt.Sprintf("w%d", min(n, 100))
}

// who shows a user: "name (id)" when the name is known and differs from
// the id, else the id.
func who(name, id string) string {
	if name == "" || name == id {
		return id
	}
	return name + " (" + id + ")"
}
