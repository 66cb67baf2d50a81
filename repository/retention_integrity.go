package repository

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gin-audit-trail/audit/entities"
	"github.com/gin-audit-trail/audit/internal/integrity"
	"gorm.io/gorm"
)

// Sealed returns r with purges recorded for a sealed trail (audit.Open
// sets it when Options.Integrity is on; see Purger.Integrity).
func (r Retention) Sealed(s *integrity.Sealer) Retention {
	r.seal = s
	return r
}

// loopSealed is loop for a sealed trail: each batch of statements runs in
// one transaction that also writes, for every batch digest whose rows it
// deleted, a checkpoint digest listing what remains of that batch
// (integrity.Amender), so that verification accepts the purge's gap and
// nothing else.
func (p Purger) loopSealed(ctx context.Context, kind Kind, stmts []string, before time.Time) (int64, error) {
	var total int64
	purge := fmt.Sprintf("%s older than %s", kind, before.UTC().Format(time.RFC3339Nano))
	for {
		var batch, last int64
		am := p.Integrity.Amender()
		err := p.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			batch, last = 0, 0
			removed := map[entities.ID]map[integrity.Entry]bool{}
			var order []entities.ID
			for _, stmt := range stmts {
				table, ok := integrity.TableNamed(strings.Fields(stmt)[2])
				if !ok {
					return fmt.Errorf("audit: purge statement on an unknown table: %s", stmt)
				}
				rows, err := tx.Raw(stmt+" RETURNING id, digest_id", before, p.BatchRows).Rows()
				if err != nil {
					return fmt.Errorf("audit: purge %s: %w", kind, err)
				}
				var n int64
				for rows.Next() {
					var id entities.ID
					var dig *entities.ID
					if err := rows.Scan(&id, &dig); err != nil {
						rows.Close()
						return err
					}
					n++
					if dig == nil {
						continue
					}
					if removed[*dig] == nil {
						removed[*dig] = map[integrity.Entry]bool{}
						order = append(order, *dig)
					}
					removed[*dig][integrity.Entry{Table: table, ID: id}] = true
				}
				err = rows.Err()
				rows.Close()
				if err != nil {
					return fmt.Errorf("audit: purge %s: %w", kind, err)
				}
				batch += n
				last = n
			}
			for _, d := range order {
				current, err := integrity.CurrentManifest(tx, d)
				if err != nil {
					return fmt.Errorf("audit: purge %s: read digest %s: %w", kind, d, err)
				}
				dg := am.Amend(d, current, removed[d], purge)
				if err := tx.Exec(integrity.InsertDigestSQL(false), integrity.DigestArgs(dg)...).Error; err != nil {
					return fmt.Errorf("audit: purge %s: write checkpoint digest: %w", kind, err)
				}
			}
			return nil
		})
		am.Done(err == nil)
		if err != nil {
			return total, err
		}
		total += batch
		if p.Progress != nil && batch > 0 {
			p.Progress(kind, batch)
		}
		if last < int64(p.BatchRows) {
			return total, nil
		}
		if err := sleep(ctx, p.Pause); err != nil {
			return total, err
		}
	}
}
