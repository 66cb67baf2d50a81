// Package query holds the read queries of the admin routes, the PDF
// reports and the audit command: keyset-paged lists and streams of each
// audit table with their filters, process trees, per-endpoint statistics,
// row export and table statistics. Every query reads the audit database
// only.
package query
