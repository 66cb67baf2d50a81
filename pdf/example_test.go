package pdf_test

import (
	"bytes"
	"fmt"
	"iter"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/pdf"
)

// Example renders a one-process report into memory. In an application the
// iterator would come from the repository's paged queries and w would be
// the HTTP response.
func Example() {
	at := time.Date(2024, 5, 1, 10, 30, 0, 0, time.UTC)
	process := &entities.ProcessDetail{
		Process: entities.ProcessEvent{ID: entities.NewID(), Datetime: at, Name: "Criar produto", CreatedBy: "joão"},
		Steps: []entities.StepDetail{{
			Step: entities.StepEvent{Name: "Validação dos Dados", StepOrder: 1, TotalRegistrations: 2},
			Registrations: []entities.RegistrationEvent{
				{Success: true, Name: "Nome válido"},
			},
		}},
	}
	var processes iter.Seq2[*entities.ProcessDetail, error] = func(yield func(*entities.ProcessDetail, error) bool) {
		yield(process, nil)
	}

	var buf bytes.Buffer
	err := pdf.WriteProcessReport(&buf, pdf.Meta{
		Title:       "Processos de maio",
		Filters:     []pdf.Filter{{Label: "Created by", Value: "joão"}},
		GeneratedAt: at,
	}, processes)
	fmt.Println(err, bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")))
	// Output: <nil> true
}
