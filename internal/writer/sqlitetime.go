package writer

import "time"

// sqliteTimestampLayout is how go-sqlite3 writes a time.Time parameter
// (its SQLiteTimestampFormats[0]). Times are stored as this text, and the
// admin's queries compare them with parameters it formats the same way,
// so the writer's text must be byte for byte the driver's.
const sqliteTimestampLayout = "2006-01-02 15:04:05.999999999-07:00"

// sqliteTimestamp is t.Format(sqliteTimestampLayout), written directly for
// UTC times of years 0 to 9999 (every time the middleware stamps): the
// general formatter interprets the layout on every call, a measurable
// share of the SQLite writer's time per row. Other times go through
// Format.
func sqliteTimestamp(t time.Time) string {
	year, month, day := t.Date()
	if t.Location() != time.UTC || year < 0 || year > 9999 {
		return t.Format(sqliteTimestampLayout)
	}
	hour, minute, second := t.Clock()
	var b [35]byte // "2006-01-02 15:04:05.999999999+00:00"
	put := func(at, v, width int) {
		for i := at + width - 1; i >= at; i-- {
			b[i] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, year, 4)
	b[4] = '-'
	put(5, int(month), 2)
	b[7] = '-'
	put(8, day, 2)
	b[10] = ' '
	put(11, hour, 2)
	b[13] = ':'
	put(14, minute, 2)
	b[16] = ':'
	put(17, second, 2)
	n := 19
	if ns := t.Nanosecond(); ns != 0 {
		b[19] = '.'
		put(20, ns, 9)
		n = 29
		for b[n-1] == '0' {
			n--
		}
	}
	n += copy(b[n:], "+00:00")
	return string(b[:n])
}
