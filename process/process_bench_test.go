package process_test

import (
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
	b.ReportAllocs()
	for b.Loop() {
		run := process.Start(createProduct, process.Config{})
		run.Step(1).Succeed("Codigo do produto validados com sucesso")
		run.Step(1).Succeed("Dados de criação validados com sucesso")
		run.Step(2).Succeed("Salvar no banco de dados")
		var batch entities.Batch
		run.AppendTo(&batch, "42")
	}
}
