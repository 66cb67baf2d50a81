package audit

import (
	"log/slog"

	"github.com/gin-audit-trail/audit/repository"
	"gorm.io/gorm"
)

// partitioning is Options.Partitioning for the database db: off, with a
// warning, on anything but PostgreSQL, which has no partitions.
func partitioning(opts Options, db *gorm.DB, log *slog.Logger) repository.Partitioning {
	p := opts.Partitioning
	if p.Enabled() && db.Dialector.Name() != "postgres" {
		log.Warn("audit: Options.Partitioning is ignored: partitioning is for PostgreSQL audit databases, this one is "+db.Dialector.Name(),
			"interval", string(p.Interval))
		return repository.Partitioning{}
	}
	return p
}
