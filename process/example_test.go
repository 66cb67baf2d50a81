package process_test

import (
	"context"
	"fmt"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/process"
)

// CreateProduct is declared once and run by every handler that creates a
// product: the Go form of drf-audit-trail's CreateProductProcessAudit.
var CreateProduct = process.Definition{
	Name: "Criar produto",
	Steps: []process.StepDefinition{
		{Name: "Validação dos Dados", Order: 1, Expected: 2},
		{Name: "Salvar no banco de dados", Order: 2},
	},
}

// Steps are reached by their order; registrations say success or failure.
// A gin handler starts the run with audit.From(c).StartProcess instead,
// which writes it with the request event.
func Example() {
	printer := process.SinkFunc(func(_ context.Context, b *entities.Batch) error {
		fmt.Printf("%s by %s: %d steps, %d registrations\n",
			b.Processes[0].Name, b.Processes[0].CreatedBy, len(b.Steps), len(b.Registrations))
		return nil
	})
	run := process.Start(CreateProduct, process.Config{User: "42", Sink: printer})

	run.Step(1).Succeed("Codigo do produto validados com sucesso")
	run.Step(1).Succeed("Dados de criação validados com sucesso")
	run.Step(2).Fail("Salvar no banco de dados", "product with this code already exists.")

	fmt.Println(run.Step(1).Outcome(), run.Step(2).Outcome(), run.Outcome())
	_ = run.End(context.Background())
	// Output:
	// success failed failed
	// Criar produto by 42: 2 steps, 3 registrations
}

// Validation errors become one failed registration whose description is
// their JSON, as drf-audit-trail stores json.dumps(serializer.errors).
func ExampleStep_Fail() {
	run := process.Start(CreateProduct, process.Config{})
	errs := map[string][]string{"code": {"This field is required."}}
	run.Step(1).Fail("Erros de validação", process.JSON(errs))

	reg := run.Detail().Steps[0].Registrations[0]
	fmt.Println(reg.Success, reg.Name, reg.Description)
	// Output: false Erros de validação {"code":["This field is required."]}
}

// A step expecting several registrations is pending until it has them all.
func ExampleRun_Detail() {
	run := process.Start(CreateProduct, process.Config{})
	run.Step(1).Succeed("Codigo do produto validados com sucesso")

	for _, s := range run.Detail().Steps {
		fmt.Printf("%d %s: %s, %d missing\n", s.Step.StepOrder, s.Step.Name, s.Outcome(), s.Missing())
	}
	// Output:
	// 1 Validação dos Dados: pending, 1 missing
	// 2 Salvar no banco de dados: pending, 1 missing
}

// Steps that depend on the data are added as the run goes.
func ExampleRun_AddStep() {
	run := process.Start(process.Definition{Name: "Importar planilha"}, process.Config{})
	for _, file := range []string{"jan.csv", "fev.csv"} {
		run.AddStep(process.StepDefinition{Name: "Importar " + file}).Succeed(file + " importado")
	}
	for _, s := range run.Detail().Steps {
		fmt.Println(s.Step.StepOrder, s.Step.Name, s.Outcome())
	}
	// Output:
	// 1 Importar jan.csv success
	// 2 Importar fev.csv success
}

// A background job hands its run down through its context.
func ExampleFromContext() {
	run := process.Start(process.Definition{Name: "Reindexar", Steps: []process.StepDefinition{{Name: "Ler"}}}, process.Config{})
	ctx := process.NewContext(context.Background(), run)

	readAll := func(ctx context.Context) {
		process.FromContext(ctx).Step(1).Succeed("lido")
	}
	readAll(ctx)
	fmt.Println(run.Outcome())
	// Output: success
}
