package process_test

import (
	"context"
	"testing"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/process"
)

// BenchmarkRun is the builder alone, no HTTP and no database: start the
// "Criar produto" process, register three successes, hand the rows to a
// batch. Run:
//
//	go test -run '^$' -bench Run -benchmem ./process
func BenchmarkRun(b *testing.B) {
	var rows int
	sink := process.SinkFunc(func(_ context.Context, batch *entities.Batch) error {
		rows += len(batch.Processes) + len(batch.Steps) + len(batch.Registrations)
		return nil
	})
	b.ReportAllocs()
	for b.Loop() {
		run := process.Start(createProduct, process.Config{User: "42", Sink: sink})
		run.Step(1).Succeed("Codigo do produto validados com sucesso")
		run.Step(1).Succeed("Dados de criação validados com sucesso")
		run.Step(2).Succeed("Salvar no banco de dados")
		_ = run.End(context.Background())
	}
	b.ReportMetric(float64(rows)/float64(b.N), "rows/op")
}
