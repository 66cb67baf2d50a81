package testskip_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/gin-audit-trail/audit/internal/testskip"
)

// A missing tool skips the test without CI and fails it under CI. The
// checks run in a child process so that the outcome can be read.
func TestSkipFailsUnderCI(t *testing.T) {
	if os.Getenv("TESTSKIP_CHILD") == "1" {
		testskip.Tool(t, "no-such-package", "no-such-tool-for-testskip")
		return
	}
	run := func(ci string) (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestSkipFailsUnderCI$", "-test.v", "-test.count=1")
		env := []string{"TESTSKIP_CHILD=1"}
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "CI=") {
				env = append(env, kv)
			}
		}
		if ci != "" {
			env = append(env, "CI="+ci)
		}
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("")
	if err != nil || !strings.Contains(out, "--- SKIP") || !strings.Contains(out, "no-such-tool-for-testskip NOT FOUND") {
		t.Fatalf("without CI the test is skipped loudly; got err %v:\n%s", err, out)
	}
	out, err = run("true")
	if err == nil || !strings.Contains(out, "--- FAIL") || !strings.Contains(out, "CI is set") {
		t.Fatalf("under CI the skip is a failure; got err %v:\n%s", err, out)
	}
}
