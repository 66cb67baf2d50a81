// Package repository owns the audit database's shape and settings:
// opening it, migrating the audit tables, the writer's and the spool's
// settings and counters, and retention.
//
// Most applications never import it: audit.Open takes a DSN and these
// settings through audit.Options. What it exports is what a user of the
// library, of the admin or of the audit command needs:
//
//   - Open, ParseDSN, TargetOf, SQLiteDSN, IsPostgresDSN: name and open an
//     audit database (a SQLite path or a postgres:// URL).
//   - Migrate, CheckMigrated, ErrNotMigrated: create or check the audit
//     tables (the deploy step for audit.Options.SkipMigration).
//   - WriterConfig, SpoolConfig, SpoolFullPolicy and the Default*
//     constants: audit.Options.Writer, the background writer and its disk
//     spool.
//   - Stats and DatabaseState: what Trail.Stats and Trail.DatabaseState
//     report, and what the admin's health route shows.
//   - ErrClosed, ErrQueueFull, ErrSpoolFull: why a synchronous write was
//     refused.
//   - Integrity: sealing every batch with a chained, optionally signed
//     digest (audit.Options.Integrity, the audit verify command).
//   - Retention, RunRetention, RetentionResult, Kind: how long each table
//     keeps its rows (audit.Options.Retention); Purger, CountOlder,
//     LockRetention, IncrementalVacuum and EnableIncrementalVacuum are the
//     steps of a pass, for the audit purge command and deploy scripts.
//   - Partitioning, MigratePartitioned, EnsurePartitions, Partitions,
//     IsPartitioned, CheckPartitioning, ConvertToPartitioned: PostgreSQL
//     time partitioning (audit.Options.Partitioning, the audit partition
//     commands; see docs/RETENTION.md).
//
// The writer itself (batching, spool, stores), the admin's read queries
// and the spool's file format are internal to the module.
//
// The audit database is separate from the application's (the rule of
// drf-audit-trail's database router): nothing here migrates or writes any
// other database.
package repository
