package entities

import (
	"database/sql/driver"
	"fmt"
)

// JSONText is the extra_informations column: a JSON document kept as text.
// The empty JSONText means "nothing was set" and is stored as SQL NULL, so
// that queries can tell a row without extra information (IS NULL) from one
// whose document is empty; NULL reads back as "".
type JSONText string

// Value implements driver.Valuer: "" is NULL, anything else the text.
func (j JSONText) Value() (driver.Value, error) {
	if j == "" {
		return nil, nil
	}
	return string(j), nil
}

// Scan implements sql.Scanner: NULL is "".
func (j *JSONText) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*j = ""
	case string:
		*j = JSONText(v)
	case []byte:
		*j = JSONText(v)
	default:
		return fmt.Errorf("entities: cannot read %T as JSON text", src)
	}
	return nil
}

// String is the document's text ("" when nothing was set).
func (j JSONText) String() string { return string(j) }
