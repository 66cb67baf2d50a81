package audit_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/internal/testlog"
	"github.com/gin-audit-trail/audit/process"
	"github.com/gin-gonic/gin"
	"gorm.io/gorm"
)

// FuzzSecrets plants a secret under any secret name, in any spelling
// encoding/json would bind, or in any shape the trail recognises (JWT,
// Bearer, Basic, PEM private key, card number), in any place a request
// carries it (JSON, nested JSON, form, query, XML, name/value pairs, the
// URL path, a panic, an error, extra information, process descriptions),
// surrounded by fuzzed text, and checks the property that the secret never
// appears in any column of the request's rows in the five tables, in the
// trail's log or in the access log line of LogFormatter. Run:
//
//	go test -run '^$' -fuzz '^FuzzSecrets$' -fuzztime 1m .
//
// The committed corpus is under testdata/fuzz/FuzzSecrets/.
func FuzzSecrets(f *testing.F) {
	for _, s := range []struct {
		name, spelling, shape, where uint8
		filler                       string
	}{
		{0, 0, 0, 0, "ana"}, {1, 1, 0, 1, ""}, {2, 2, 0, 2, "a=b&c"}, {3, 3, 0, 3, "x y"},
		{4, 4, 0, 4, "<i>"}, {5, 5, 0, 5, `"quoted"`}, {6, 6, 0, 6, "line\nbreak"}, {7, 7, 0, 7, "{}"},
		{8, 0, 0, 8, "[1,2]"}, {9, 1, 0, 9, "ünï"}, {10, 2, 0, 10, "/"},
		{0, 0, 1, 0, ""}, {0, 0, 2, 3, "q"}, {0, 0, 3, 5, "err"}, {0, 0, 4, 7, "x"}, {0, 0, 5, 10, "9"},
		{0, 0, 1, 10, ""}, {0, 0, 2, 6, ""}, {0, 0, 4, 2, ""}, {0, 0, 5, 1, "1234"},
	} {
		f.Add(s.name, s.spelling, s.shape, s.where, s.filler)
	}
	rg := getSecretsRig(f)
	f.Fuzz(func(t *testing.T, name, spelling, shape, where uint8, filler string) {
		rg.check(t, name, spelling, shape, where, filler)
	})
}

// fuzzNames are the names planted: the list and the defaults.
var fuzzNames = append(append([]string(nil), leakedNames...), audit.DefaultSecretKeys()...)

// spell writes name the way a client may: case changed, separators added,
// letters replaced by the Unicode letters encoding/json folds to them.
// freeText spellings never hold spaces (a spaced name in prose cannot be
// told from two words).
func spell(name string, spelling uint8, freeText bool) string {
	if freeText || spelling&8 != 0 {
		name = strings.ReplaceAll(name, " ", "_")
	}
	if spelling&1 != 0 {
		name = strings.ToUpper(name)
	}
	if spelling&2 != 0 && len(name) > 1 {
		sep := []string{"-", "_", ".", " "}[int(spelling>>4)%4]
		if freeText && sep == " " {
			sep = "-"
		}
		name = name[:1] + sep + name[1:]
	}
	if spelling&4 != 0 {
		name = strings.NewReplacer("s", "\u017f", "k", "\u212a", "K", "\u212a").Replace(name)
	}
	return name
}

// Places of the secret.
const (
	inJSON = iota
	inNestedJSON
	inForm
	inQuery
	inXML
	inPanic
	inError
	inExtra
	inProcess
	inPairs
	inPath
	places
)

// Shapes of the secret.
const (
	byName = iota
	asJWT
	asBearer
	asBasic
	asPEM
	asCard
	shapesOfSecrets
)

// shaped returns the planted value and the text that must never be found.
func shaped(shape uint8, secret string) (value, needle string) {
	switch shape {
	case asJWT:
		return "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9." + secret, secret
	case asBearer:
		return "Bearer " + secret, secret
	case asBasic:
		cred := base64.StdEncoding.EncodeToString([]byte("ana:" + secret))
		return "Basic " + cred, strings.TrimRight(cred, "=")[:20]
	case asPEM:
		return "-----BEGIN PRIVATE KEY-----\n" + secret + "\n-----END PRIVATE KEY-----", secret
	case asCard:
		card := luhnCard(secret)
		return card, card
	}
	return secret, secret
}

type secretsRig struct {
	router *gin.Engine
	db     *gorm.DB
	log    *testlog.Buffer // the trail's log and the access log
}

var (
	secretsRigOnce sync.Once
	secretsRigVal  *secretsRig
	secretsRigErr  error
)

func getSecretsRig(f *testing.F) *secretsRig {
	secretsRigOnce.Do(func() {
		secretsRigVal, secretsRigErr = newSecretsRig(f.TempDir())
	})
	if secretsRigErr != nil {
		f.Fatal(secretsRigErr)
	}
	return secretsRigVal
}

// newSecretsRig is an audited router whose one handler misuses what the
// X-Plant-* headers say (headers are not stored).
func newSecretsRig(dir string) (*secretsRig, error) {
	gin.SetMode(gin.ReleaseMode)
	rg := &secretsRig{log: &testlog.Buffer{}}
	trail, err := audit.Open(audit.Options{
		DSN:         filepath.Join(dir, "fuzz_secrets.sqlite3"),
		Synchronous: true,
		Logger:      slog.New(slog.NewTextHandler(rg.log, nil)),
	})
	if err != nil {
		return nil, err
	}
	rg.db = trail.DB()
	r := gin.New()
	r.Use(gin.LoggerWithConfig(gin.LoggerConfig{Formatter: trail.LogFormatter(), Output: rg.log}),
		gin.RecoveryWithWriter(io.Discard), trail.Middleware())
	r.NoRoute(func(c *gin.Context) {
		body, _ := io.ReadAll(c.Request.Body)
		c.Header("X-Audit-Id", audit.From(c).ID().String())
		if v := c.GetHeader("X-Plant-Extra"); v != "" {
			var doc any
			_ = json.Unmarshal([]byte(v), &doc)
			audit.From(c).SetExtra(doc)
		}
		if v := c.GetHeader("X-Plant-Process"); v != "" {
			run := audit.From(c).StartProcess(process.Definition{Name: "fuzz", Steps: []process.StepDefinition{{Name: "one"}}})
			run.Describe(v)
			run.Step(1).Fail("check", v)
		}
		if v := c.GetHeader("X-Plant-Error"); v != "" {
			_ = c.Error(fmt.Errorf("refused: %s", v))
		}
		if v := c.GetHeader("X-Plant-Panic"); v != "" {
			panic(v)
		}
		c.Data(http.StatusOK, c.ContentType(), body)
	})
	rg.router = r
	return rg, nil
}

func (rg *secretsRig) check(t *testing.T, nameIdx, spelling, shape, where uint8, filler string) {
	secret := newSecret()
	shape %= shapesOfSecrets
	where %= places
	freeText := where == inPanic || where == inError || where == inProcess || where == inPath || where == inXML
	name := spell(fuzzNames[int(nameIdx)%len(fuzzNames)], spelling, freeText)
	value, needle := shaped(shape, secret)
	if shape != byName {
		name = "note" // the shape alone must be recognised
	}
	pair := name + "=" + value
	if shape != byName {
		pair = value
	}
	member := func() string {
		doc, _ := json.Marshal(map[string]string{name: value, "other": filler})
		return string(doc)
	}

	target, method, ct, body := "/api/fuzz/", "POST", "", ""
	headers := http.Header{}
	switch where {
	case inJSON:
		ct, body = "application/json", member()
	case inNestedJSON:
		doc, _ := json.Marshal(map[string]string{"data": member(), "other": filler})
		ct, body = "application/json", string(doc)
	case inForm:
		ct, body = "application/x-www-form-urlencoded", url.Values{name: {value}, "other": {filler}}.Encode()
	case inQuery:
		method, target = "GET", target+"?"+url.Values{name: {value}, "other": {filler}}.Encode()
	case inXML:
		if shape == byName {
			name = strings.NewReplacer(" ", "_", ".", "_").Replace(name)
		}
		esc := strings.NewReplacer("<", "&lt;", ">", "&gt;", "&", "&amp;").Replace(filler)
		ct, body = "application/xml", "<r><"+name+">"+value+"</"+name+"><other>"+esc+"</other></r>"
	case inPanic:
		headers.Set("X-Plant-Panic", filler+" "+pair+" "+filler)
	case inError:
		headers.Set("X-Plant-Error", filler+" "+pair+" "+filler)
	case inExtra:
		headers.Set("X-Plant-Extra", member())
	case inProcess:
		headers.Set("X-Plant-Process", filler+" "+pair+" "+filler)
	case inPairs:
		doc, _ := json.Marshal([]map[string]string{{"name": "user", "value": filler}, {"name": name, "value": value}})
		ct, body = "application/json", string(doc)
	case inPath:
		method, target = "GET", "/api/fuzz/"+url.PathEscape(filler)+"/"+url.PathEscape(pair)+"/"
	}
	logStart := len(rg.log.String())
	r := httptest.NewRequest(method, "/", strings.NewReader(body))
	r.URL, _ = url.Parse(target)
	r.RequestURI = target
	for k, v := range headers {
		r.Header[k] = v
	}
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	w := httptest.NewRecorder()
	rg.router.ServeHTTP(w, r)
	id := w.Header().Get("X-Audit-Id")
	if id == "" {
		t.Fatalf("request not audited (status %d)", w.Code)
	}
	stored := rowsOfRequest(t, rg.db, id)
	if !strings.Contains(stored, id) {
		t.Fatalf("request row %s not stored", id)
	}
	logged := rg.log.String()[logStart:]
	for what, text := range map[string]string{"stored": stored, "logged": logged} {
		for _, hay := range []string{text, looseUnescape(text)} {
			if i := strings.Index(hay, needle); i >= 0 {
				t.Fatalf("secret %s (shape %d, place %d, name %q): ...%s...", what, shape, where, name, hay[max(0, i-200):min(len(hay), i+80)])
			}
		}
	}
}

// looseUnescape decodes the escapes a query or JSON text may hold, so a
// secret cannot hide behind them.
func looseUnescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		s = u
	}
	return strings.NewReplacer(`\n`, "\n", `\"`, `"`, `\/`, "/", `\\`, `\`).Replace(s)
}

// rowsOfRequest is every column of the rows of request id in the five
// tables, as text.
func rowsOfRequest(t *testing.T, db *gorm.DB, id string) string {
	t.Helper()
	var all strings.Builder
	for _, q := range []string{
		"SELECT * FROM audit_request_events WHERE id = ?",
		"SELECT * FROM audit_login_events WHERE request_id = ?",
		"SELECT * FROM audit_process_events WHERE request_id = ?",
		"SELECT * FROM audit_step_events WHERE process_id IN (SELECT id FROM audit_process_events WHERE request_id = ?)",
		"SELECT * FROM audit_registration_events WHERE step_id IN (SELECT s.id FROM audit_step_events s JOIN audit_process_events p ON s.process_id = p.id WHERE p.request_id = ?)",
	} {
		rows, err := db.WithContext(context.Background()).Raw(q, id).Rows()
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				fmt.Fprintf(&all, " %s=%v", cols[i], v)
			}
			all.WriteByte('\n')
		}
		_ = rows.Close()
	}
	return all.String()
}
