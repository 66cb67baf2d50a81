package audit

import (
	"math/rand/v2"
	"regexp"
	"testing"
)

// A pattern tested as a prefix answers exactly as its regular expression
// does, and only plain anchored literals take that path.
func TestPathPatternMatchesRegexp(t *testing.T) {
	patterns := map[string]bool{ // expression: tested as a prefix
		`^/api/`: true, `^/api/v1/users`: true, `^/health$`: false, `/api/`: false, `(?i)^/api/`: false,
		`^/api/.*`: false, `^/a\.b`: true, `^/a.b`: false, `^/é/`: true, `^(/api/)`: false, `^/api/|^/v2/`: false,
		`^`: false, `^/api/[0-9]+`: false, "^/\uFFFD": false, `^/Api/`: true,
	}
	paths := []string{"", "/", "/api", "/api/", "/api/ping/", "/API/ping", "/Api/x", "/api/v1/users/7", "/a.b", "/aXb",
		"/é/x", "/\xff/x", "/\uFFFD", "x/api/", "/health", "/v2/", "/api/12"}
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{"/", "a", "p", "i", "A", "é", "\xff", ".", "1", "v", "h", "e"}
	for range 2000 {
		s := ""
		for range rng.IntN(12) {
			s += alphabet[rng.IntN(len(alphabet))]
		}
		paths = append(paths, "/api/"+s, s)
	}
	for expr, prefix := range patterns {
		p, err := compilePattern(expr)
		if err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
		if p.literal != prefix {
			t.Errorf("%q: tested as a prefix %v, want %v", expr, p.literal, prefix)
		}
		re := regexp.MustCompile(expr)
		for _, path := range paths {
			if got, want := p.MatchString(path), re.MatchString(path); got != want {
				t.Errorf("%q on %q: %v, the regular expression says %v", expr, path, got, want)
			}
		}
	}
	if _, err := compilePattern(`^(`); err == nil {
		t.Error("an invalid pattern compiled")
	}
}
