package pdf

import (
	"bytes"
	"iter"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/internal/testskip"

	"github.com/gin-audit-trail/audit/entities"
)

// requirePoppler skips the test, loudly, when pdftotext is not installed,
// unless CI is set, in which case the test fails.
func requirePoppler(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"pdftotext", "pdfinfo"} {
		testskip.Tool(t, "poppler-utils", tool)
	}
}

// writeTemp stores a PDF in the test's temporary directory.
func writeTemp(t testing.TB, pdf []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// pdfText extracts the text of page (1-based), or of every page when page
// is 0, in content-stream order.
func pdfText(t testing.TB, pdf []byte, page int) string {
	t.Helper()
	requirePoppler(t)
	args := []string{"-raw", "-enc", "UTF-8"}
	if page > 0 {
		args = append(args, "-f", strconv.Itoa(page), "-l", strconv.Itoa(page))
	}
	args = append(args, writeTemp(t, pdf), "-")
	out, err := exec.Command("pdftotext", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	return string(out)
}

// pageCount asks pdfinfo how many pages pdf has.
func pageCount(t testing.TB, pdf []byte) int {
	t.Helper()
	requirePoppler(t)
	out, err := exec.Command("pdfinfo", writeTemp(t, pdf)).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo: %v\n%s", err, out)
	}
	for line := range strings.Lines(string(out)) {
		if v, ok := strings.CutPrefix(line, "Pages:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("pdfinfo printed no page count:\n%s", out)
	return 0
}

// rows yields the given rows, then err if it is not nil, stopping as soon
// as its consumer does (the range-over-func runtime panics otherwise).
func rows[T any](list []*T, err error) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		for _, r := range list {
			if !yield(r, nil) {
				return
			}
		}
		if err != nil {
			yield(nil, err)
		}
	}
}

// testMeta is the Meta of every test report.
func testMeta(title string) Meta {
	return Meta{
		Title:       title,
		Filters:     []Filter{{"From", "2024-05-01"}, {"User", "joão"}},
		GeneratedAt: time.Date(2024, 5, 2, 13, 4, 5, 0, time.UTC),
	}
}

// sampleProcesses is a process report's data in Portuguese, as in
// drf-audit-trail's README: one process that succeeded, one that failed
// and one still pending.
func sampleProcesses() []*entities.ProcessDetail {
	at := time.Date(2024, 5, 1, 10, 30, 0, 0, time.UTC)
	step := func(order int, name, desc string, total int, regs ...entities.RegistrationEvent) entities.StepDetail {
		return entities.StepDetail{
			Step:          entities.StepEvent{ID: entities.NewID(), Datetime: at, Name: name, Description: desc, StepOrder: order, TotalRegistrations: total},
			Registrations: regs,
		}
	}
	reg := func(ok bool, name, desc string) entities.RegistrationEvent {
		return entities.RegistrationEvent{ID: entities.NewID(), Datetime: at, Success: ok, Name: name, Description: desc}
	}
	return []*entities.ProcessDetail{
		{
			Process: entities.ProcessEvent{ID: entities.NewID(), Datetime: at, Name: "Criar produto", Description: "Cadastro de um produto novo pelo painel de administração.", CreatedBy: "joão.silva"},
			Steps: []entities.StepDetail{
				step(1, "Validação dos Dados", "Verifica nome, preço e estoque.", 2,
					reg(true, "Nome válido", "O nome tem entre 3 e 80 caracteres."),
					reg(true, "Preço válido", "")),
				step(2, "Salvar no banco de dados", "Grava o produto.", 1,
					reg(true, "Produto salvo", "")),
			},
		},
		{
			Process: entities.ProcessEvent{ID: entities.NewID(), Datetime: at.Add(time.Minute), Name: "Atualizar estoque", Description: "Baixa de estoque após a venda.", CreatedBy: "maria"},
			Steps: []entities.StepDetail{
				step(1, "Validação dos Dados", "", 1, reg(false, "Quantidade negativa", "Estoque não pode ficar abaixo de zero.")),
				step(2, "Salvar no banco de dados", "", 1),
			},
		},
		{
			Process: entities.ProcessEvent{ID: entities.NewID(), Datetime: at.Add(2 * time.Minute), Name: "Importar planilha", CreatedBy: "sistema"},
			Steps: []entities.StepDetail{
				step(1, "Ler arquivo", "", 3, reg(true, "Cabeçalho lido", "")),
			},
		},
	}
}

// render runs one report writer and returns its bytes.
func render(t testing.TB, write func(*bytes.Buffer) error) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		t.Fatalf("render: %v", err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) {
		t.Fatalf("output is not a PDF: %.20q", buf.Bytes())
	}
	return buf.Bytes()
}
