// Package stmtcache keeps prepared statements for the life of a *gorm.DB,
// as a GORM plugin: the statements live with the handle that registered
// the plugin, not in package state. The audit writer uses it for SQLite,
// which parses a statement each time it is prepared.
package stmtcache

import (
	"context"
	"database/sql"
	"sync"

	"gorm.io/gorm"
)

// Name is the plugin's name in gorm.Config.Plugins.
const Name = "audit:statement-cache"

// Cache holds one prepared *sql.Stmt per key, a short name its user gives
// the query text (so that a long statement text need not be built to be
// looked up). database/sql prepares a statement again on each connection
// it is used on (and on a connection that replaced a broken one), and
// Tx.StmtContext reuses the one prepared on the transaction's connection.
type Cache struct {
	db    *sql.DB
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// Name implements gorm.Plugin.
func (*Cache) Name() string { return Name }

// Initialize implements gorm.Plugin.
func (c *Cache) Initialize(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.db, c.stmts = sqlDB, map[string]*sql.Stmt{}
	return nil
}

// Of is the Cache registered on db, nil when there is none.
func Of(db *gorm.DB) *Cache {
	if db == nil || db.Config == nil {
		return nil
	}
	c, _ := db.Plugins[Name].(*Cache)
	return c
}

// Get returns the statement of key if Prepare prepared it. A nil Cache
// has none.
func (c *Cache) Get(key string) (*sql.Stmt, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.stmts[key]
	return st, ok
}

// Prepare returns the statement of key, query prepared on the first call
// (the query of a key must not change). Preparing takes a connection from
// the pool: call it outside a transaction (a pool limited to one
// connection, common with SQLite, would wait for the transaction's own
// connection), then use the statement in the transaction with
// Tx.StmtContext. The cache is not locked while it waits for that
// connection, so a transaction of another goroutine that looks up its
// statements (Get) meanwhile is not held up by it.
func (c *Cache) Prepare(ctx context.Context, key, query string) (*sql.Stmt, error) {
	if st, ok := c.Get(key); ok {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if first, ok := c.stmts[key]; ok { // prepared meanwhile by another caller
		st.Close()
		return first, nil
	}
	c.stmts[key] = st
	return st, nil
}
