package audit_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	audit "github.com/gin-audit-trail/audit"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/testlog"
	"github.com/gin-audit-trail/audit/process"
	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// The tests of this file plant a secret the way an attacker (or a careless
// handler) would, and look for it in every text column of the five audit
// tables and in the trail's log, on SQLite and PostgreSQL.

// newSecret is a fresh secret value: letters and digits only, so that no
// encoding changes how it is spelled.
func newSecret() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	return "Zq" + hex.EncodeToString(b[:])
}

// auditTables are the five tables of the audit database.
var auditTables = []string{"audit_request_events", "audit_login_events", "audit_process_events", "audit_step_events", "audit_registration_events"}

// storedText is every column of every row of the five audit tables, as
// text, one row per line.
func storedText(t *testing.T, db *gorm.DB) string {
	t.Helper()
	var all strings.Builder
	for _, table := range auditTables {
		rows, err := db.Raw("SELECT * FROM " + table).Rows()
		require.NoError(t, err)
		cols, err := rows.Columns()
		require.NoError(t, err)
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			all.WriteString(table)
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				fmt.Fprintf(&all, " %s=%v", cols[i], v)
			}
			all.WriteByte('\n')
		}
		require.NoError(t, rows.Err())
		_ = rows.Close()
	}
	return all.String()
}

// leakRig is an audited router whose handlers misuse secrets in every way
// the issue lists.
type leakRig struct {
	t      *testing.T
	router *gin.Engine
	trail  *audit.Trail
	db     *gorm.DB
	log    *testlog.Buffer
}

func newLeakRig(t *testing.T, dsn string) *leakRig {
	t.Helper()
	rg := &leakRig{t: t, log: &testlog.Buffer{}}
	trail, err := audit.Open(audit.Options{
		DSN:         dsn,
		Synchronous: true,
		Logger:      slog.New(slog.NewTextHandler(rg.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = trail.Close(context.Background()) })
	rg.trail = trail
	rg.db = testdb.Open(t, dsn)

	r := gin.New()
	r.Use(gin.RecoveryWithWriter(io.Discard), trail.Middleware())
	echo := func(c *gin.Context) {
		body, _ := io.ReadAll(c.Request.Body)
		c.Data(200, "application/json", body)
	}
	r.POST("/api/echo/", echo)
	r.GET("/api/echo/", echo)
	r.GET("/api/reset/:token/", func(c *gin.Context) { c.Status(204) })
	// A panic whose message quotes the request body.
	r.POST("/api/panic/", func(c *gin.Context) {
		body, _ := io.ReadAll(c.Request.Body)
		panic("cannot handle " + string(body))
	})
	// An error that quotes the password it was given, and one that quotes
	// the query's token.
	r.POST("/api/login-error/", func(c *gin.Context) {
		var in struct{ Username, Password string }
		_ = c.ShouldBindJSON(&in)
		_ = c.Error(fmt.Errorf("user %s could not sign in with %s", in.Username, in.Password))
		c.Status(400)
	})
	r.GET("/api/token-error/", func(c *gin.Context) {
		_ = c.Error(fmt.Errorf("upstream refused %s", c.Query("access_token")))
		c.Status(502)
	})
	// Extra information and process JSON nested deeper than 256 levels.
	r.POST("/api/deep/", func(c *gin.Context) {
		secret := c.GetHeader("X-Plant") // headers are not stored
		audit.From(c).SetExtra(deepJSON(300, secret))
		run := audit.From(c).StartProcess(process.Definition{Name: "deep", Steps: []process.StepDefinition{{Name: "one"}}})
		run.SetExtra(deepJSON(300, secret))
		run.Step(1).Describe(process.JSON(deepJSON(300, secret)))
		run.Step(1).Succeed("done", process.Description(process.JSON(deepJSON(300, secret))))
		c.Status(201)
	})
	rg.router = r
	return rg
}

// deepJSON nests {"password": secret} depth levels deep.
func deepJSON(depth int, secret string) any {
	var v any = map[string]any{"password": secret}
	for range depth {
		v = map[string]any{"a": v}
	}
	return v
}

func (rg *leakRig) send(method, target, contentType, body string) {
	rg.t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rg.router.ServeHTTP(httptest.NewRecorder(), req)
}

// stored drains the trail and returns every stored text and the log.
func (rg *leakRig) stored() (string, string) {
	rg.t.Helper()
	require.NoError(rg.t, rg.trail.Close(context.Background()))
	return storedText(rg.t, rg.db), rg.log.String()
}

// leak is one way a secret got through: plant sends it, and, when the
// secret travels encoded (a card number made from it, a base64
// credential), needle returns what must not be found.
type leak struct {
	name   string
	plant  func(rg *leakRig, secret string)
	needle func(secret string) string
}

// leakedNames are the names the issue found stored in clear, and two
// spellings encoding/json binds to Password and Token fields.
var leakedNames = []string{
	"pass", "pwd", "passphrase", "privateKey", "private_key", "auth", "session_id", "sid", "bearer",
	"signature", "otp", "pin", "cvv", "ssn", "credit_card", "card_number", "api.key", "api key",
	"pa\u017fsword", "to\u212aen",
}

// testJWT is a JSON Web Token whose signature is secret.
func testJWT(secret string) string {
	return "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiJ9." + secret
}

func leaks() []leak {
	var out []leak
	for _, name := range leakedNames {
		out = append(out,
			leak{"name/json/" + name, func(rg *leakRig, s string) {
				doc, _ := json.Marshal(map[string]string{name: s, "user": "ana"})
				rg.send("POST", "/api/echo/", "application/json", string(doc))
			}, nil},
			leak{"name/form/" + name, func(rg *leakRig, s string) {
				rg.send("POST", "/api/echo/", "application/x-www-form-urlencoded", url.Values{name: {s}, "user": {"ana"}}.Encode())
			}, nil},
			leak{"name/query/" + name, func(rg *leakRig, s string) {
				rg.send("GET", "/api/echo/?"+url.Values{name: {s}, "page": {"2"}}.Encode(), "", "")
			}, nil},
		)
	}
	for _, name := range leakedNames {
		if strings.Contains(name, " ") {
			continue // not an XML element name
		}
		out = append(out, leak{"name/xml/" + name, func(rg *leakRig, s string) {
			rg.send("POST", "/api/echo/", "application/xml", "<login><user>ana</user><"+name+">"+s+"</"+name+"></login>")
		}, nil})
	}
	return append(out,
		leak{"value/jwt-under-data", func(rg *leakRig, s string) {
			rg.send("POST", "/api/echo/", "application/json", `{"data":"`+testJWT(s)+`"}`)
		}, nil},
		leak{"value/jwt-path-segment", func(rg *leakRig, s string) {
			rg.send("GET", "/api/reset/"+testJWT(s)+"/", "", "")
		}, nil},
		leak{"value/name-value-pairs", func(rg *leakRig, s string) {
			rg.send("POST", "/api/echo/", "application/json", `[{"name":"user","value":"ana"},{"name":"password","value":"`+s+`"}]`)
		}, nil},
		leak{"value/form-field-holding-json", func(rg *leakRig, s string) {
			rg.send("POST", "/api/echo/", "application/x-www-form-urlencoded", url.Values{"data": {`{"password":"` + s + `"}`}}.Encode())
		}, nil},
		leak{"value/bearer-in-text", func(rg *leakRig, s string) {
			rg.send("POST", "/api/echo/", "application/json", `{"note":"call it with Bearer `+s+`"}`)
		}, nil},
		leak{"value/basic-in-query", func(rg *leakRig, s string) {
			rg.send("GET", "/api/echo/?"+url.Values{"h": {"Basic " + base64Std("ana:"+s)}}.Encode(), "", "")
		}, func(s string) string { return strings.TrimRight(base64Std("ana:"+s), "=") }},
		leak{"value/card-number", func(rg *leakRig, s string) {
			rg.send("POST", "/api/echo/", "application/json", `{"order":"A-1","n":`+luhnCard(s)+`}`)
		}, luhnCard},
		leak{"value/pem-private-key", func(rg *leakRig, s string) {
			pem := "-----BEGIN PRIVATE KEY-----\n" + s + "\n-----END PRIVATE KEY-----"
			doc, _ := json.Marshal(map[string]string{"blob": pem})
			rg.send("POST", "/api/echo/", "application/json", string(doc))
		}, nil},
		leak{"error/panic-quoting-the-body", func(rg *leakRig, s string) {
			rg.send("POST", "/api/panic/", "application/json", `{"username":"ana","password":"`+s+`"}`)
		}, nil},
		leak{"error/c.Error-quoting-the-password", func(rg *leakRig, s string) {
			rg.send("POST", "/api/login-error/", "application/json", `{"username":"ana","password":"`+s+`"}`)
		}, nil},
		leak{"error/c.Error-quoting-the-query-token", func(rg *leakRig, s string) {
			rg.send("GET", "/api/token-error/?access_token="+s, "", "")
		}, nil},
		leak{"fail-closed/extra-and-process-json-deeper-than-256", func(rg *leakRig, s string) {
			req := httptest.NewRequest("POST", "/api/deep/", nil)
			req.Header.Set("X-Plant", s)
			rg.router.ServeHTTP(httptest.NewRecorder(), req)
		}, nil},
	)
}

func base64Std(s string) string {
	const enc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var out strings.Builder
	b := []byte(s)
	for len(b) > 0 {
		var chunk [3]byte
		n := copy(chunk[:], b)
		b = b[n:]
		v := uint(chunk[0])<<16 | uint(chunk[1])<<8 | uint(chunk[2])
		for i := range 4 {
			if i > n {
				out.WriteByte('=')
				continue
			}
			out.WriteByte(enc[v>>(18-6*i)&63])
		}
	}
	return out.String()
}

// luhnCard is a 16-digit Visa-like number that passes the Luhn check,
// derived from s so that each test plants its own.
func luhnCard(s string) string {
	digits := []byte("4")
	for i := 0; len(digits) < 15; i++ {
		digits = append(digits, '0'+s[i%len(s)]%10)
	}
	sum := 0
	for i := range 15 {
		d := int(digits[14-i] - '0')
		if i%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return string(append(digits, byte('0'+(10-sum%10)%10)))
}

func TestNoSecretReachesTheDatabaseOrTheLog(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		rg := newLeakRig(t, dsn)
		all := leaks()
		secrets := make([]string, len(all))
		for i, l := range all {
			secrets[i] = newSecret()
			l.plant(rg, secrets[i])
		}
		stored, logged := rg.stored()
		require.NotEmpty(t, stored)
		for i, l := range all {
			t.Run(l.name, func(t *testing.T) {
				s := secrets[i]
				if l.needle != nil {
					s = l.needle(s)
				}
				assertAbsent(t, stored, s, "stored")
				assertAbsent(t, logged, s, "logged")
			})
		}
	})
}

// assertAbsent fails, quoting the lines that hold it, when secret occurs
// in text.
func assertAbsent(t *testing.T, text, secret, where string) {
	t.Helper()
	for _, line := range strings.Split(text, "\n") {
		if i := strings.Index(line, secret); i >= 0 {
			t.Errorf("secret %s: ...%s...", where, line[max(0, i-300):min(len(line), i+100)])
		}
	}
}

// A note about a body that is not stored quotes its content type cut
// short: a 2-byte body must not store 900 KB.
func TestBodyNoteIsBounded(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		rg := newLeakRig(t, dsn)
		secret := newSecret()
		ct := "image/" + strings.Repeat("x", 900<<10) + "; name=" + secret
		rg.send("POST", "/api/echo/", ct, "hi")
		stored, _ := rg.stored()
		var body string
		require.NoError(t, rg.db.Raw("SELECT request_body FROM audit_request_events").Row().Scan(&body))
		assert.Contains(t, body, "not stored")
		assert.LessOrEqual(t, len(body), 1024, "the note must not grow with the Content-Type")
		assertAbsent(t, stored, secret, "stored")
	})
}

// Gin trusts every proxy until the application calls SetTrustedProxies:
// the client IP stored is then whatever X-Forwarded-For says. The trail
// says so once.
func TestWarnsOnceWhenEveryProxyIsTrusted(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		for _, trusted := range []bool{false, true} {
			rg := newLeakRig(t, dsn)
			if trusted {
				require.NoError(t, rg.router.SetTrustedProxies([]string{"10.0.0.1"}))
			}
			for range 3 {
				req := httptest.NewRequest("GET", "/api/echo/", nil)
				req.RemoteAddr = "10.0.0.1:5555"
				req.Header.Set("X-Forwarded-For", "203.0.113.9")
				rg.router.ServeHTTP(httptest.NewRecorder(), req)
			}
			_, logged := rg.stored()
			want := 1
			if trusted {
				want = 0
			}
			assert.Equal(t, want, strings.Count(logged, "SetTrustedProxies"), "trusted=%v, log:\n%s", trusted, logged)
		}
	})
}
