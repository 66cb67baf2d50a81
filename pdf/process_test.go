package pdf

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProcessReportShowsProcessesStepsAndBadges(t *testing.T) {
	procs := sampleProcesses()
	b := render(t, func(w *bytes.Buffer) error {
		return WriteProcessReport(w, testMeta("Relatório de processos"), rows(procs, nil))
	})
	text := pdfText(t, b, 0)

	for _, want := range []string{"Validação dos Dados", "Criar produto", "Salvar no banco de dados", "Relatório de processos", "Estoque não pode ficar abaixo de zero."} {
		assert.Contains(t, text, want, "accented text must survive")
	}
	var success, failure, missing int
	for _, p := range procs {
		assert.Contains(t, text, p.Process.Name)
		assert.Contains(t, text, p.Process.ID.String())
		assert.Contains(t, text, p.Process.CreatedBy)
		for _, s := range p.Steps {
			missing += s.Missing()
			for _, r := range s.Registrations {
				if r.Success {
					success++
					assert.Contains(t, text, "Success: "+r.Name)
				} else {
					failure++
					assert.Contains(t, text, "Failure: "+r.Name)
				}
			}
		}
	}
	assert.Equal(t, success, strings.Count(text, "Success:"), "one green badge per successful registration")
	assert.Equal(t, failure, strings.Count(text, "Failure:"), "one red badge per failed registration")
	assert.Equal(t, missing, strings.Count(text, "No registration"), "one grey badge per missing registration")
	assert.Equal(t, 4, success)
	assert.Equal(t, 1, failure)
	assert.Equal(t, 3, missing)

	// Outcomes, from ProcessDetail.Outcome.
	assert.Contains(t, text, "Outcome Succeeded")
	assert.Contains(t, text, "Outcome Failed")
	assert.Contains(t, text, "Outcome Pending")
}

func TestFirstPageStatesFiltersGenerationTimeAndPageNumber(t *testing.T) {
	b := render(t, func(w *bytes.Buffer) error {
		return WriteProcessReport(w, testMeta("Processos"), rows(sampleProcesses(), nil))
	})
	page1 := pdfText(t, b, 1)
	assert.Contains(t, page1, "From: 2024-05-01")
	assert.Contains(t, page1, "User: joão")
	assert.Contains(t, page1, "2024-05-02 13:04:05 UTC")
	assert.Contains(t, page1, "Page 1")
}

func TestProcessReportWithoutFiltersSaysNone(t *testing.T) {
	b := render(t, func(w *bytes.Buffer) error {
		return WriteProcessReport(w, Meta{Title: "All processes"}, rows(sampleProcesses(), nil))
	})
	assert.Contains(t, pdfText(t, b, 1), "Filters none")
}

func TestProcessReportEmpty(t *testing.T) {
	b := render(t, func(w *bytes.Buffer) error {
		return WriteProcessReport(w, testMeta("Processos"), rows[entities.ProcessDetail](nil, nil))
	})
	assert.Contains(t, pdfText(t, b, 0), "No rows match these filters.")
	assert.Equal(t, 1, pageCount(t, b))
}

func TestProcessReportReturnsIteratorError(t *testing.T) {
	boom := errors.New("database went away")
	var buf bytes.Buffer
	err := WriteProcessReport(&buf, testMeta("Processos"), rows(sampleProcesses(), boom))
	require.Error(t, err)
	assert.ErrorIs(t, err, boom)
	assert.Zero(t, buf.Len(), "nothing is written when the rows cannot be read")
}

func TestProcessReportStopsAtFirstIteratorError(t *testing.T) {
	boom := errors.New("page 2 failed")
	afterError := 0
	seq := func(yield func(*entities.ProcessDetail, error) bool) {
		if !yield(sampleProcesses()[0], nil) || !yield(nil, boom) {
			return
		}
		afterError++
		yield(sampleProcesses()[1], nil)
	}
	err := WriteProcessReport(&bytes.Buffer{}, testMeta("Processos"), seq)
	assert.ErrorIs(t, err, boom)
	assert.Zero(t, afterError, "the report must stop consuming the iterator after an error")
}

func TestProcessReportSurvivesHostileText(t *testing.T) {
	p := sampleProcesses()[0]
	p.Process.Name = "Nul\x00byte and invalid \xff\xfe UTF-8 — \x01\x1b[31m"
	p.Process.Description = strings.Repeat("Descrição enorme ", 4000) // 68 KB
	p.Steps[0].Registrations[0].Description = "\x00\x00\x00"
	p.Steps[0].Step.Name = strings.Repeat("x", 5000) // one unbreakable word
	b := render(t, func(w *bytes.Buffer) error {
		return WriteProcessReport(w, testMeta("Hostile"), rows([]*entities.ProcessDetail{p}, nil))
	})
	text := pdfText(t, b, 0)
	assert.Contains(t, text, "Nulbyte and invalid")
	assert.Contains(t, text, "…", "a capped field ends with an ellipsis")
	assert.Less(t, strings.Count(text, "Descrição enorme"), 200, "a 68 KB description is capped")
	assert.LessOrEqual(t, pageCount(t, b), 4, "huge fields must not explode the report")
}

func TestProcessReportSkipsNilRowsAndProcessesWithoutSteps(t *testing.T) {
	p := &entities.ProcessDetail{Process: entities.ProcessEvent{ID: entities.NewID(), Name: "Sem etapas"}}
	b := render(t, func(w *bytes.Buffer) error {
		return WriteProcessReport(w, testMeta("Processos"), rows([]*entities.ProcessDetail{nil, p}, nil))
	})
	text := pdfText(t, b, 0)
	assert.Contains(t, text, "Sem etapas")
	assert.Contains(t, text, "No steps recorded.")
}

func TestStepsTableRepeatsHeaderAcrossPages(t *testing.T) {
	p := sampleProcesses()[0]
	for i := range 120 {
		s := p.Steps[0]
		s.Step.StepOrder = i + 3
		p.Steps = append(p.Steps, s)
	}
	b := render(t, func(w *bytes.Buffer) error {
		return WriteProcessReport(w, testMeta("Processos"), rows([]*entities.ProcessDetail{p}, nil))
	})
	n := pageCount(t, b)
	require.Greater(t, n, 1)
	for page := 2; page <= n; page++ {
		text := pdfText(t, b, page)
		assert.Contains(t, text, "Order Step Description Registrations", "page %d", page)
		assert.Contains(t, text, "Criar produto (continued)", "page %d", page)
	}
}
