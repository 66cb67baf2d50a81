package writer

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/testdb"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/stretchr/testify/require"
)

// Every shape's statement has one placeholder per value appendRequestArgs
// gives for it, and binds exactly the groups of the shape.
func TestShapeStatementsMatchTheirArguments(t *testing.T) {
	digest := entities.NewID()
	r := entities.RequestEvent{ID: entities.NewID(), Datetime: time.Now(), UserID: "u", Route: "/r", QueryParams: "q=1",
		RequestBody: "b", ErrorType: "E", ErrorMessage: "m", ErrorStacktrace: "s", ExtraInformations: `{"k":1}`, DigestID: &digest}
	require.Equal(t, fullShape, shapeOf(&r))
	require.Equal(t, shape(0), shapeOf(&entities.RequestEvent{ID: r.ID, Method: "GET", URL: "/", IPAddress: "::1", ResponseBody: "{}"}))
	for s := shape(0); s <= fullShape; s++ {
		for _, rows := range []int{1, 64} {
			q := requestInsertSQL(rows, s)
			args := appendRequestArgs(nil, &r, s)
			require.Equal(t, rows*len(args), strings.Count(q, "?"), "shape %b", s)
		}
	}
	require.Len(t, appendRequestArgs(nil, &r, fullShape), requestWidth)
	require.Len(t, appendRequestArgs(nil, &r, 0), 10, "the dense columns")
}

// Rows written in chunks of every shape (a whole chunk without users or
// errors, chunks where a single row has one, the unshaped tail) read back
// exactly as they were built, and an empty value is stored as the full
// statement stores it: an empty text for text, NULL for extra_informations and
// digest_id.
func TestShapedChunksStoreEveryColumn(t *testing.T) {
	db := testdb.Open(t, testdb.SQLite(t))
	store := GormStore{DB: db}
	rng := rand.New(rand.NewPCG(1, 2))
	at := time.Date(2026, 5, 4, 3, 2, 1, 123456789, time.UTC)
	var rows []entities.RequestEvent
	for i := range 64*4 + 8 + 3 {
		r := entities.RequestEvent{ID: entities.NewID(), Datetime: at.Add(time.Duration(i) * time.Millisecond), IPAddress: "10.0.0.1",
			Method: "GET", URL: fmt.Sprintf("/api/item/%d/", i), RequestType: "http", ResponseBody: `{"ok":true}`,
			StatusCode: 200, ResponseTimeMS: 0.5, ResponseSize: 11}
		chunk := i / 64
		sparse := chunk == 1 && i%64 == 17 || chunk >= 2 && rng.IntN(3) == 0 || chunk == 4 // chunk 0: none
		if sparse {
			digest := entities.NewID()
			for _, set := range []func(){
				func() { r.UserID = "u" + fmt.Sprint(i) },
				func() { r.Route = "/api/item/:id/" },
				func() { r.QueryParams = "page=2" },
				func() { r.RequestBody = `{"n":1}` },
				func() { r.ErrorType, r.ErrorMessage, r.ErrorStacktrace = "ValueError", "bad", "trace" },
				func() { r.ExtraInformations = `{"tenant":"a"}` },
				func() { r.DigestID = &digest },
			} {
				if rng.IntN(2) == 0 {
					set()
				}
			}
		}
		rows = append(rows, r)
	}
	want := append([]entities.RequestEvent(nil), rows...)
	ctx := context.Background()
	require.NoError(t, store.WriteBatch(ctx, &entities.Batch{Requests: rows}))
	require.NoError(t, store.WriteBatch(ctx, &entities.Batch{Requests: rows}), "written again: every row is skipped")

	var got []entities.RequestEvent
	require.NoError(t, db.Order("id").Find(&got).Error)
	require.Len(t, got, len(want))
	byID := map[entities.ID]entities.RequestEvent{}
	for _, r := range got {
		byID[r.ID] = r
	}
	var noExtra, noDigest int64
	for _, w := range want {
		g, ok := byID[w.ID]
		require.True(t, ok, "row %s stored", w.ID)
		require.True(t, w.Datetime.Equal(g.Datetime), "datetime %s, want %s", g.Datetime, w.Datetime)
		g.Datetime = w.Datetime
		require.Equal(t, w, g)
		if w.ExtraInformations == "" {
			noExtra++
		}
		if w.DigestID == nil {
			noDigest++
		}
	}
	var nullExtra, nullDigest, emptyUser int64
	require.NoError(t, db.Raw("SELECT count(*) FROM audit_request_events WHERE extra_informations IS NULL").Scan(&nullExtra).Error)
	require.NoError(t, db.Raw("SELECT count(*) FROM audit_request_events WHERE digest_id IS NULL").Scan(&nullDigest).Error)
	require.NoError(t, db.Raw("SELECT count(*) FROM audit_request_events WHERE user_id = ''").Scan(&emptyUser).Error)
	require.Equal(t, noExtra, nullExtra)
	require.Equal(t, noDigest, nullDigest)
	require.Positive(t, emptyUser)
	require.Less(t, emptyUser, int64(len(want)))
}

// A Writer on SQLite writes up to DefaultMaxBatchRowsSQLite rows a
// transaction unless told otherwise; on PostgreSQL DefaultMaxBatchRows.
func TestMaxBatchRowsDefaultsByDatabase(t *testing.T) {
	sqlite := GormStore{DB: testdb.Open(t, testdb.SQLite(t))}
	require.Equal(t, repository.DefaultMaxBatchRowsSQLite, withDefaults(repository.WriterConfig{}, sqlite).MaxBatchRows)
	require.Equal(t, 300, withDefaults(repository.WriterConfig{MaxBatchRows: 300}, sqlite).MaxBatchRows)
	require.Equal(t, repository.DefaultMaxBatchRowsSQLite, withDefaults(repository.WriterConfig{}, NewConnectingStore(sqlite.DB, sqlite, ConnectConfig{})).MaxBatchRows)
	pg := GormStore{DB: testdb.Open(t, testdb.Postgres(t))}
	require.Equal(t, repository.DefaultMaxBatchRows, withDefaults(repository.WriterConfig{}, pg).MaxBatchRows)
}
