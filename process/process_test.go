package process_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/process"
	"github.com/stretchr/testify/require"
)

var createProduct = process.Definition{
	Name:        "Criar produto",
	Description: "Cria um produto",
	Steps: []process.StepDefinition{
		{Name: "Validação dos Dados", Order: 1, Expected: 2},
		{Name: "Salvar no banco de dados", Order: 2},
	},
}

// memory is a Sink that keeps what it receives.
type memory struct {
	mu      sync.Mutex
	batches []*entities.Batch
	err     error
}

func (m *memory) Record(_ context.Context, b *entities.Batch) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.batches = append(m.batches, b)
	return m.err
}

func (m *memory) all() *entities.Batch {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := &entities.Batch{}
	for _, b := range m.batches {
		out.Append(b)
	}
	return out
}

func TestStartAssignsIDsAndDefaults(t *testing.T) {
	rid := entities.NewID()
	run := process.Start(process.Definition{Name: "p", Steps: []process.StepDefinition{{Name: "a"}, {Name: "b", Expected: 3}}},
		process.Config{User: "42", RequestID: &rid})
	require.False(t, run.ID().IsZero())
	require.Equal(t, &rid, run.RequestID())
	require.Equal(t, 1, run.Step(1).Order(), "a zero order is the position")
	require.Equal(t, run.StepNamed("b"), run.Step(2))
	require.Nil(t, run.Step(3))
	require.Nil(t, run.StepNamed("c"))

	d := run.Detail()
	require.Equal(t, "42", d.Process.CreatedBy)
	require.Equal(t, 1, d.Steps[0].Step.TotalRegistrations, "Expected 0 means 1")
	require.Equal(t, 3, d.Steps[1].Step.TotalRegistrations)
	require.Equal(t, run.ID(), d.Steps[1].Step.ProcessID)
	require.Equal(t, time.UTC, d.Process.Datetime.Location())
	require.Equal(t, entities.OutcomePending, run.Outcome())
}

func TestRegistrationsAndRollups(t *testing.T) {
	run := process.Start(createProduct, process.Config{})
	v := run.Step(1)
	v.Succeed("Codigo do produto validados com sucesso")
	require.Equal(t, entities.OutcomePending, v.Outcome())
	v.Succeed("Dados de criação validados com sucesso", process.Description("ok"), process.Extra(map[string]int{"fields": 4}))
	require.Equal(t, entities.OutcomeSuccess, v.Outcome())
	require.Equal(t, entities.OutcomePending, run.Outcome())
	run.Step(2).Fail("Salvar no banco de dados", "UNIQUE constraint failed", process.Extra(map[string]string{"code": "X1"}))
	require.Equal(t, entities.OutcomeFailed, run.Step(2).Outcome())
	require.Equal(t, entities.OutcomeFailed, run.Outcome())

	d := run.Detail()
	require.Len(t, d.Steps[0].Registrations, 2)
	r := d.Steps[0].Registrations[1]
	require.True(t, r.Success)
	require.Equal(t, "ok", r.Description)
	require.JSONEq(t, `{"fields":4}`, string(r.ExtraInformations))
	f := d.Steps[1].Registrations[0]
	require.False(t, f.Success)
	require.Equal(t, "UNIQUE constraint failed", f.Description)
	require.JSONEq(t, `{"code":"X1"}`, string(f.ExtraInformations))
}

// batches is a Sink that keeps every batch it is given.
type batches struct {
	mu  sync.Mutex
	got []*entities.Batch
}

func (s *batches) Record(_ context.Context, b *entities.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, b)
	return nil
}

// all is every row handed over so far, in one batch.
func (s *batches) all() *entities.Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := &entities.Batch{}
	for _, b := range s.got {
		all.Append(b)
	}
	return all
}

func TestFlushHandsEachRowOverOnce(t *testing.T) {
	sink := &batches{}
	run := process.Start(createProduct, process.Config{User: "job", Sink: sink})
	run.Step(1).Succeed("a")
	require.NoError(t, run.Flush(context.Background()))
	require.Len(t, sink.got, 1)
	b := sink.got[0]
	require.Len(t, b.Processes, 1)
	require.Len(t, b.Steps, 2)
	require.Len(t, b.Registrations, 1)
	require.Equal(t, "job", b.Processes[0].CreatedBy, "the run's user fills created_by")
	require.Equal(t, "job", b.Registrations[0].CreatedBy)
	require.False(t, run.Ended(), "Flush does not end the run")

	require.NoError(t, run.Flush(context.Background()))
	require.Len(t, sink.got, 1, "nothing new: nothing handed over")
	run.Step(1).Succeed("b")
	extra := run.AddStep(process.StepDefinition{Name: "extra"})
	require.Equal(t, 3, extra.Order())
	extra.Succeed("c")
	require.NoError(t, run.End(context.Background()))
	require.Len(t, sink.got, 2)
	require.Len(t, sink.got[1].Processes, 0, "the process row was handed over once")
	require.Len(t, sink.got[1].Steps, 1)
	require.Len(t, sink.got[1].Registrations, 2)
	require.True(t, run.Ended())
}

func TestSetUserOverridesDefault(t *testing.T) {
	sink := &batches{}
	run := process.Start(createProduct, process.Config{User: "job", Sink: sink})
	run.Step(1).Succeed("a")
	run.SetUser("alice")
	require.NoError(t, run.Flush(context.Background()))
	b := sink.all()
	require.Equal(t, "alice", b.Processes[0].CreatedBy)
	require.Equal(t, "alice", b.Steps[1].CreatedBy)
	require.Equal(t, "alice", b.Registrations[0].CreatedBy)
}

func TestEndWritesThroughSink(t *testing.T) {
	sink := &memory{}
	run := process.Start(createProduct, process.Config{User: "job-7", Sink: sink})
	run.Step(1).Succeed("a")
	require.NoError(t, run.End(context.Background()))
	require.True(t, run.Ended())
	run.Step(1).Succeed("late")
	require.NoError(t, run.End(context.Background()))
	require.NoError(t, run.End(context.Background()), "nothing new: the sink is not called")
	require.Len(t, sink.batches, 2)
	all := sink.all()
	require.Len(t, all.Processes, 1)
	require.Nil(t, all.Processes[0].RequestID)
	require.Equal(t, "job-7", all.Processes[0].CreatedBy)
	require.Len(t, all.Registrations, 2)

	sink.err = errors.New("queue full")
	run.Step(2).Succeed("b")
	require.EqualError(t, run.End(context.Background()), "queue full")

	require.NoError(t, process.Start(createProduct, process.Config{}).End(context.Background()), "no sink")
}

func TestNilRunAndStepDoNothing(t *testing.T) {
	var run *process.Run
	require.True(t, run.ID().IsZero())
	require.Nil(t, run.Step(1))
	run.Step(1).Succeed("x")
	run.Step(1).Fail("x", "y")
	run.Describe("d")
	run.SetExtra(1)
	run.SetUser("u")
	require.NoError(t, run.Flush(context.Background()))
	require.NoError(t, run.End(context.Background()))
	require.Nil(t, process.FromContext(context.Background()))
	require.Nil(t, process.FromContext(context.Background()).Step(2))
}

func TestContext(t *testing.T) {
	run := process.Start(createProduct, process.Config{})
	ctx := process.NewContext(context.Background(), run)
	require.Same(t, run, process.FromContext(ctx))
}

func TestJSONOfUnserialisableValue(t *testing.T) {
	require.Equal(t, `{"code":["required"]}`, process.JSON(map[string][]string{"code": {"required"}}))
	require.Contains(t, process.JSON(make(chan int)), "audit_error")
}

// TestConcurrentRegistrations is meant for -race: many goroutines register
// on one run while another hands rows over.
func TestConcurrentRegistrations(t *testing.T) {
	const workers, each = 16, 50
	sink := &batches{}
	run := process.Start(process.Definition{Name: "import", Steps: []process.StepDefinition{{Name: "rows", Expected: workers * each}}},
		process.Config{Sink: sink})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if w == 0 && i%10 == 0 {
					_ = run.Flush(context.Background())
				}
				run.Step(1).Succeed("row")
				_ = run.Outcome()
			}
		}()
	}
	wg.Wait()
	require.NoError(t, run.Flush(context.Background()))
	got := sink.all()
	require.Len(t, got.Registrations, workers*each)
	seen := map[entities.ID]bool{}
	for i, r := range got.Registrations {
		require.False(t, seen[r.ID])
		seen[r.ID] = true
		if i > 0 {
			prev := got.Registrations[i-1]
			require.False(t, r.Datetime.Before(prev.Datetime), "datetime order is registration order")
			require.Greater(t, r.ID.String(), prev.ID.String(), "id order is registration order")
		}
	}
	require.Equal(t, entities.OutcomeSuccess, run.Outcome())
}
