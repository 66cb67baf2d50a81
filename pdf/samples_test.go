package pdf

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/stretchr/testify/require"
)

// TestWriteSamples writes one sample PDF of each report, and a PNG of its
// first page, to docs/reports. It runs only with AUDIT_WRITE_SAMPLES=1 so
// the normal suite never writes into docs/.
func TestWriteSamples(t *testing.T) {
	if os.Getenv("AUDIT_WRITE_SAMPLES") != "1" {
		t.Skip("set AUDIT_WRITE_SAMPLES=1 to write docs/reports samples")
	}
	requirePoppler(t)
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		t.Fatal("pdftoppm (poppler-utils) is needed to write the PNG previews")
	}
	dir := filepath.Join("..", "docs", "reports")
	require.NoError(t, os.MkdirAll(dir, 0o755))

	requests := sampleRequests(60)
	requests[7].URL = "/api/produtos/busca?q=" + strings.Repeat("cadeira-de-escritório-ergonômica+", 8)
	samples := map[string]func(*bytes.Buffer) error{
		"process": func(w *bytes.Buffer) error {
			return WriteProcessReport(w, testMeta("Relatório de processos"), rows(sampleProcesses(), nil))
		},
		"requests": func(w *bytes.Buffer) error {
			return WriteRequestReport(w, testMeta("Requisições da API"), rows(requests, nil))
		},
		"logins": func(w *bytes.Buffer) error {
			return WriteLoginReport(w, testMeta("Entradas e saídas"), rows[entities.LoginRow](sampleLogins(), nil))
		},
		"endpoints": func(w *bytes.Buffer) error {
			return WriteEndpointReport(w, testMeta("Desempenho por endpoint"), sampleStats(12))
		},
	}
	for name, write := range samples {
		path := filepath.Join(dir, name+".pdf")
		require.NoError(t, os.WriteFile(path, render(t, write), 0o644))
		out, err := exec.Command("pdftoppm", "-png", "-r", "60", "-singlefile", "-f", "1", "-l", "1",
			path, filepath.Join(dir, name)).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
}
