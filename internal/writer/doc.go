// Package writer is the audit trail's write path, in layers that share
// one small interface, Store (WriteBatch), each wrapping the next as the
// Kubernetes audit backends do:
//
//	Writer          bounded queue ▸ batcher ▸ N committers
//	  spoolStore    disk spool: outages, a full queue, crashes; replay in order
//	  (retryStore)  without a spool: retry, then isolate the refused rows
//	    countedStore  deadline and counters
//	      ConnectingStore  reaches and migrates the database in the background
//	        GormStore      PostgreSQL binary COPY / SQLite prepared INSERTs
//
// Its settings and counters (repository.WriterConfig, repository.Stats)
// are public; the machinery is not.
package writer
