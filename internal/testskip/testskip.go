// Package testskip is how the project's tests skip: loudly, and never under
// CI. A test that cannot run here (no PostgreSQL server, no chromium, no
// poppler-utils, no chattr) says so in capitals and is skipped; when the
// environment variable CI is set, the same test fails instead, because CI
// must run every test.
package testskip

import (
	"os"
	"os/exec"
	"testing"
)

// Skip skips t with a loud message saying why, or fails it when CI is set.
func Skip(t testing.TB, why string) {
	t.Helper()
	msg := "\n*** " + why + "\n*** This test is SKIPPED.\n"
	if os.Getenv("CI") != "" {
		t.Fatal(msg + "*** CI is set: every test must run.")
	}
	t.Skip(msg)
}

// Tool returns the path of the first of names found on PATH. When none is
// installed it calls Skip, naming the Debian package to install.
func Tool(t testing.TB, debianPackage string, names ...string) string {
	t.Helper()
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	Skip(t, names[0]+" NOT FOUND: install it with apt-get install -y "+debianPackage)
	return ""
}
