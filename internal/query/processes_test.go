package query_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/query"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/internal/writer"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// fixture describes one process to insert: per step its expected count and
// its registrations' success flags.
type fixture struct {
	name    string
	user    string
	request bool
	at      time.Time
	steps   []fixtureStep
}

type fixtureStep struct {
	expected int
	regs     []bool
}

func (f fixture) batch() (*entities.Batch, entities.ID) {
	b := &entities.Batch{}
	pid := entities.NewID()
	p := entities.ProcessEvent{ID: pid, Datetime: f.at, Name: f.name, CreatedBy: f.user}
	if f.request {
		rid := entities.NewID()
		p.RequestID = &rid
		b.Requests = append(b.Requests, entities.RequestEvent{ID: rid, Datetime: f.at, Method: "POST", URL: "/api/x/", StatusCode: 201})
	}
	b.Processes = append(b.Processes, p)
	// Steps are inserted in reverse order to check the read side sorts them.
	for i := len(f.steps) - 1; i >= 0; i-- {
		st := f.steps[i]
		sid := entities.NewID()
		b.Steps = append(b.Steps, entities.StepEvent{ID: sid, Datetime: f.at, ProcessID: pid, Name: fmt.Sprintf("step %d", i+1),
			StepOrder: i + 1, TotalRegistrations: st.expected, CreatedBy: f.user})
		for j, ok := range st.regs {
			b.Registrations = append(b.Registrations, entities.RegistrationEvent{ID: entities.NewID(),
				Datetime: f.at.Add(time.Duration(j) * time.Millisecond), StepID: sid, Success: ok,
				Name: fmt.Sprintf("reg %d.%d", i+1, j+1), CreatedBy: f.user})
		}
	}
	return b, pid
}

func insertFixtures(t *testing.T, db *gorm.DB, fs ...fixture) []entities.ID {
	t.Helper()
	ids := make([]entities.ID, len(fs))
	all := &entities.Batch{}
	for i, f := range fs {
		b, id := f.batch()
		all.Append(b)
		ids[i] = id
	}
	require.NoError(t, writer.GormStore{DB: db}.WriteBatch(context.Background(), all))
	return ids
}

func collect(t *testing.T, db *gorm.DB, f query.ProcessFilter) []*entities.ProcessDetail {
	t.Helper()
	var out []*entities.ProcessDetail
	for p, err := range query.StreamProcesses(context.Background(), db, f) {
		require.NoError(t, err)
		out = append(out, p)
	}
	return out
}

func names(ps []*entities.ProcessDetail) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Process.Name
	}
	return out
}

func TestLoadProcessAndRollups(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		db := testdb.Open(t, dsn)
		base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		ids := insertFixtures(t, db,
			fixture{name: "Criar produto", user: "7", request: true, at: base,
				steps: []fixtureStep{{2, []bool{true, true}}, {1, []bool{true}}}},
			fixture{name: "Validação falhou", user: "7", at: base.Add(time.Second),
				steps: []fixtureStep{{2, []bool{true, false}}, {1, nil}}},
			fixture{name: "Pendente", user: "8", at: base.Add(2 * time.Second),
				steps: []fixtureStep{{2, []bool{true}}, {1, nil}}},
			fixture{name: "Sem etapas", user: "8", at: base.Add(3 * time.Second)},
		)

		ok, err := query.LoadProcess(context.Background(), db, ids[0])
		require.NoError(t, err)
		require.Equal(t, "Criar produto", ok.Process.Name)
		require.NotNil(t, ok.Process.RequestID)
		require.Len(t, ok.Steps, 2)
		require.Equal(t, 1, ok.Steps[0].Step.StepOrder, "steps come in step order")
		require.Equal(t, 2, ok.Steps[1].Step.StepOrder)
		require.Equal(t, []string{"reg 1.1", "reg 1.2"}, []string{ok.Steps[0].Registrations[0].Name, ok.Steps[0].Registrations[1].Name})
		require.Equal(t, entities.OutcomeSuccess, ok.Outcome())
		require.Equal(t, entities.OutcomeSuccess, ok.Steps[0].Outcome())
		require.True(t, ok.Process.Datetime.Equal(base))

		failed, err := query.LoadProcess(context.Background(), db, ids[1])
		require.NoError(t, err)
		require.Equal(t, entities.OutcomeFailed, failed.Outcome())
		require.Equal(t, entities.OutcomeFailed, failed.Steps[0].Outcome())
		require.Equal(t, entities.OutcomePending, failed.Steps[1].Outcome())
		require.Equal(t, 1, failed.Steps[1].Missing())

		pending, err := query.LoadProcess(context.Background(), db, ids[2])
		require.NoError(t, err)
		require.Equal(t, entities.OutcomePending, pending.Outcome())

		empty, err := query.LoadProcess(context.Background(), db, ids[3])
		require.NoError(t, err)
		require.Empty(t, empty.Steps)
		require.NotNil(t, empty.Steps, "an empty JSON list, not null")
		require.Equal(t, entities.OutcomeSuccess, empty.Outcome())

		_, err = query.LoadProcess(context.Background(), db, entities.NewID())
		require.ErrorIs(t, err, query.ErrProcessNotFound)
		require.True(t, errors.Is(err, gorm.ErrRecordNotFound))

		// The database's rollup agrees with entities' rollup.
		for _, o := range []entities.Outcome{entities.OutcomeSuccess, entities.OutcomeFailed, entities.OutcomePending} {
			got := collect(t, db, query.ProcessFilter{Outcome: o})
			for _, p := range got {
				require.Equal(t, o, p.Outcome(), p.Process.Name)
			}
			n, err := query.CountProcesses(context.Background(), db, query.ProcessFilter{Outcome: o})
			require.NoError(t, err)
			require.Equal(t, int64(len(got)), n)
		}
		require.Equal(t, []string{"Criar produto", "Sem etapas"}, names(collect(t, db, query.ProcessFilter{Outcome: entities.OutcomeSuccess})))
		require.Equal(t, []string{"Validação falhou"}, names(collect(t, db, query.ProcessFilter{Outcome: entities.OutcomeFailed})))
		require.Equal(t, []string{"Pendente"}, names(collect(t, db, query.ProcessFilter{Outcome: entities.OutcomePending})))

		// Other filters.
		require.Equal(t, []string{"Pendente", "Sem etapas"}, names(collect(t, db, query.ProcessFilter{CreatedBy: "8"})))
		require.Equal(t, []string{"Validação falhou"}, names(collect(t, db, query.ProcessFilter{Name: "Validação falhou"})))
		require.Equal(t, []string{"Criar produto"}, names(collect(t, db, query.ProcessFilter{Search: "CRIAR"})))
		require.Empty(t, collect(t, db, query.ProcessFilter{Search: "%"}), "LIKE wildcards are literal")
		require.Equal(t, []string{"Criar produto"}, names(collect(t, db, query.ProcessFilter{RequestID: ok.Process.RequestID})))
		require.Len(t, collect(t, db, query.ProcessFilter{Background: true}), 3)
		require.Equal(t, []string{"Validação falhou", "Pendente"}, names(collect(t, db,
			query.ProcessFilter{From: base.Add(time.Second), To: base.Add(3 * time.Second)})))

		_, err = query.CountProcesses(context.Background(), db, query.ProcessFilter{Outcome: "bogus"})
		require.Error(t, err)
		for _, err := range query.StreamProcesses(context.Background(), db, query.ProcessFilter{Outcome: "bogus"}) {
			require.Error(t, err)
		}
	})
}

func TestStreamProcessesKeysetPagination(t *testing.T) {
	testdb.Run(t, func(t *testing.T, dsn string) {
		db := testdb.Open(t, dsn)
		base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		var fs []fixture
		for i := range 53 {
			// Groups of three share a datetime, so ties are broken by id.
			fs = append(fs, fixture{name: fmt.Sprintf("p%02d", i), user: "u", at: base.Add(time.Duration(i/3) * time.Millisecond),
				steps: []fixtureStep{{1, []bool{true}}, {2, []bool{true, i%5 != 0}}}})
		}
		ids := insertFixtures(t, db, fs...)

		// Counting the queries shows steps and registrations are read per
		// page, not per process.
		var queries int
		require.NoError(t, db.Callback().Query().After("gorm:query").Register("test:count", func(*gorm.DB) { queries++ }))
		t.Cleanup(func() { _ = db.Callback().Query().Remove("test:count") })

		all := collect(t, db, query.ProcessFilter{PageSize: 7})
		require.Len(t, all, 53)
		require.Equal(t, 8*3, queries, "8 pages of 3 queries (the last page is short)")
		for i, p := range all {
			require.Equal(t, ids[i], p.Process.ID, "position %d", i)
			require.Len(t, p.Steps, 2)
			require.Len(t, p.Steps[1].Registrations, 2)
		}

		desc := collect(t, db, query.ProcessFilter{PageSize: 4, Descending: true})
		require.Len(t, desc, 53)
		for i, p := range desc {
			require.Equal(t, ids[52-i], p.Process.ID)
		}

		// A caller paging by hand: Limit, then After the last one seen.
		var paged []entities.ID
		var after *query.ProcessCursor
		for {
			page := collect(t, db, query.ProcessFilter{Limit: 10, After: after, Descending: true})
			for _, p := range page {
				paged = append(paged, p.Process.ID)
			}
			if len(page) < 10 {
				break
			}
			c := query.CursorOf(&page[len(page)-1].Process)
			after = &c
		}
		require.Len(t, paged, 53)
		for i, id := range paged {
			require.Equal(t, ids[52-i], id)
		}

		// Stopping early stops reading.
		queries = 0
		n := 0
		for _, err := range query.StreamProcesses(context.Background(), db, query.ProcessFilter{PageSize: 5}) {
			require.NoError(t, err)
			if n++; n == 3 {
				break
			}
		}
		require.Equal(t, 3, queries)

		failed := collect(t, db, query.ProcessFilter{Outcome: entities.OutcomeFailed, PageSize: 2})
		require.Len(t, failed, 11) // i = 0, 5, ..., 50

		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		for _, err := range query.StreamProcesses(ctx, db, query.ProcessFilter{}) {
			require.ErrorIs(t, err, context.Canceled)
		}
	})
}
