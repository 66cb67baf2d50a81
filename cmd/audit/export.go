package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/gin-audit-trail/audit/internal/query"
	"github.com/gin-audit-trail/audit/repository"
	"github.com/spf13/cobra"
)

func newExportCommand(g *globals) *cobra.Command {
	var from, to, format, table, outPath string
	cmd := &cobra.Command{
		Use:   "export [--from T] [--to T] [--format jsonl|csv] [--table T] [--out FILE]",
		Short: "Stream rows as JSON Lines or CSV, in constant memory",
		Long: `export writes the rows of one table (--table, default requests) whose
datetime is in [--from, --to), oldest first, to stdout or --out FILE:
JSON Lines with one object per row keyed by column name (--format jsonl,
the default), or CSV with a header row (--format csv). Times are RFC 3339
in UTC. Bounds are RFC 3339 times, dates (2025-01-31, midnight UTC) or ages
before now (7d); a missing bound is open. Rows are streamed from the
database one at a time, so memory stays constant whatever their number.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := time.Now().UTC()
			fromT, err := parseTime(from, now)
			if err != nil {
				return err
			}
			toT, err := parseTime(to, now)
			if err != nil {
				return err
			}
			kind, err := repository.ParseKind(table)
			if err != nil {
				return err
			}
			var enc rowEncoder
			switch format {
			case "jsonl":
				enc = &jsonlEncoder{}
			case "csv":
				enc = &csvEncoder{}
			default:
				return fmt.Errorf("unknown format %q: use jsonl or csv", format)
			}
			db, closeDB, err := g.open(false)
			if err != nil {
				return err
			}
			defer closeDB()
			ctx := cmd.Context()

			var dst io.Writer = cmd.OutOrStdout()
			if outPath != "" {
				f, err := os.Create(outPath)
				if err != nil {
					return err
				}
				defer f.Close()
				dst = f
			}
			w := bufio.NewWriterSize(dst, 64<<10)
			total, err := query.CountRows(ctx, db, kind, fromT, toT)
			if err != nil {
				return err
			}
			cols, err := query.Columns(db, kind)
			if err != nil {
				return err
			}
			if err := enc.header(w, cols); err != nil {
				return err
			}
			bar := newProgress(cmd.ErrOrStderr(), "export "+string(kind), "rows", total, g.progressInterval)
			var n int64
			err = query.EachRow(ctx, db, kind, fromT, toT, func(cols []string, vals []any) error {
				n++
				bar.Add(1)
				return enc.row(w, cols, vals)
			})
			if err != nil {
				return err
			}
			if err := enc.flush(w); err != nil {
				return err
			}
			if err := w.Flush(); err != nil {
				return err
			}
			if outPath != "" {
				if f, ok := dst.(*os.File); ok {
					if err := f.Close(); err != nil {
						return err
					}
				}
			}
			bar.Finish()
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "first datetime included: 2025-01-31, 2025-01-31T12:00:00Z or 7d (default: the oldest row)")
	cmd.Flags().StringVar(&to, "to", "", "first datetime excluded (default: no bound)")
	cmd.Flags().StringVar(&format, "format", "jsonl", "jsonl or csv")
	cmd.Flags().StringVar(&table, "table", string(repository.Requests), "requests, logins, processes, steps or registrations")
	cmd.Flags().StringVar(&outPath, "out", "", "write to FILE instead of stdout")
	return cmd
}

// rowEncoder writes rows in one format.
type rowEncoder interface {
	header(w io.Writer, cols []string) error
	row(w io.Writer, cols []string, vals []any) error
	flush(w io.Writer) error
}

// jsonlEncoder writes one JSON object per line, members in column order.
type jsonlEncoder struct{ buf []byte }

func (e *jsonlEncoder) header(io.Writer, []string) error { return nil }

func (e *jsonlEncoder) row(w io.Writer, cols []string, vals []any) error {
	b := append(e.buf[:0], '{')
	for i, c := range cols {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, c)
		b = append(b, ':')
		v := vals[i]
		if t, ok := v.(time.Time); ok {
			v = t.Format(time.RFC3339Nano)
		}
		j, err := json.Marshal(v)
		if err != nil {
			return err
		}
		b = append(b, j...)
	}
	b = append(b, '}', '\n')
	e.buf = b
	_, err := w.Write(b)
	return err
}

func (e *jsonlEncoder) flush(io.Writer) error { return nil }

// csvEncoder writes a header row, then one record per row.
type csvEncoder struct {
	w      *csv.Writer
	record []string
}

func (e *csvEncoder) header(w io.Writer, cols []string) error {
	e.w = csv.NewWriter(w)
	e.record = make([]string, len(cols))
	return e.w.Write(cols)
}

func (e *csvEncoder) row(_ io.Writer, _ []string, vals []any) error {
	for i, v := range vals {
		e.record[i] = csvText(v)
	}
	return e.w.Write(e.record)
}

func (e *csvEncoder) flush(io.Writer) error {
	if e.w == nil {
		return nil
	}
	e.w.Flush()
	return e.w.Error()
}

func csvText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}
