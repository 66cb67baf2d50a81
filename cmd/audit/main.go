// Command audit works on an audit database of github.com/gin-audit-trail/audit:
// it migrates it, purges old rows, exports rows as JSON Lines or CSV,
// describes its tables, verifies a tamper-evident trail (verify, keygen;
// docs/INTEGRITY.md), and inspects or replays a spool directory left by
// a dead instance.
//
//	go run github.com/gin-audit-trail/audit/cmd/audit --dsn audit_trail.sqlite3 stats
//	AUDIT_DSN=postgres://audit@db/audit audit purge --older-than 90d
//	audit export --from 2025-01-01 --to 2025-02-01 --format csv --out january.csv
//	audit verify --public-key audit-signing.pem.pub
//
// The database is named by --dsn or the environment variable AUDIT_DSN,
// with the meaning of Options.DSN: a SQLite file path, or a postgres://
// URL (or key=value string with host=).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cmd := newRootCommand()
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "audit:", err)
		stop()
		os.Exit(1)
	}
}
