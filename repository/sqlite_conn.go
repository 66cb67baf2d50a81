package repository

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"

	"github.com/mattn/go-sqlite3"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
)

// sqliteCheckpointPages is the WAL size, in pages, at which a committing
// connection copies the WAL back into the database file (SQLite's
// wal_autocheckpoint; its default is 1,000 pages, 4 MB). The writer's
// hottest pages (the right edge of the table and of every time-ordered
// index) are rewritten by every transaction; checkpointing ten times less
// often copies each of them back, and waits for the two fsyncs of a
// checkpoint, ten times less often. The WAL file then grows to about 40 MB.
const sqliteCheckpointPages = 10000

// sqliteDialector is the GORM dialector of the SQLite file named by dsn
// (a go-sqlite3 DSN, see SQLiteDSN): every connection it opens also gets
// sqliteCheckpointPages.
func sqliteDialector(dsn string) gorm.Dialector {
	drv := &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		_, err := c.Exec(fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", sqliteCheckpointPages), nil)
		return err
	}}
	return sqlite.New(sqlite.Config{DriverName: sqlite.DriverName, DSN: dsn, Conn: sql.OpenDB(sqliteConnector{dsn: dsn, drv: drv})})
}

// sqliteConnector opens go-sqlite3 connections with the driver's connect
// hook, without registering a driver name (package-level state).
type sqliteConnector struct {
	dsn string
	drv *sqlite3.SQLiteDriver
}

// Connect implements driver.Connector.
func (c sqliteConnector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }

// Driver implements driver.Connector.
func (c sqliteConnector) Driver() driver.Driver { return c.drv }
