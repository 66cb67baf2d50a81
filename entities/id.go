package entities

import (
	"database/sql/driver"
	"fmt"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// ID is a UUIDv7 primary or foreign key. It is stored as a native uuid
// column on PostgreSQL and as 36-character text elsewhere, and it marshals
// to JSON as its canonical string form.
type ID uuid.UUID

// NewID returns a new time-ordered UUIDv7. Because ids are assigned in the
// process, a request, its login event and its processes are linked before
// anything is written.
func NewID() ID {
	id, err := uuid.NewV7()
	if err != nil {
		// uuid.NewV7 fails only when the system random source fails.
		panic(fmt.Sprintf("entities: cannot read random bytes for a UUIDv7: %v", err))
	}
	return ID(id)
}

// ParseID parses the canonical text form of an id.
func ParseID(s string) (ID, error) {
	u, err := uuid.Parse(s)
	return ID(u), err
}

// String returns the canonical 36-character form.
func (id ID) String() string { return uuid.UUID(id).String() }

// IsZero reports whether the id was never set.
func (id ID) IsZero() bool { return id == ID{} }

// Value implements driver.Valuer.
func (id ID) Value() (driver.Value, error) { return id.String(), nil }

// Scan implements sql.Scanner for text and 16-byte values.
func (id *ID) Scan(src any) error {
	var u uuid.UUID
	if err := u.Scan(src); err != nil {
		return err
	}
	*id = ID(u)
	return nil
}

// MarshalText implements encoding.TextMarshaler, so JSON shows the string.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *ID) UnmarshalText(b []byte) error {
	u, err := uuid.ParseBytes(b)
	if err != nil {
		return err
	}
	*id = ID(u)
	return nil
}

// GormDBDataType picks the column type per database.
func (ID) GormDBDataType(db *gorm.DB, _ *schema.Field) string {
	if db.Dialector.Name() == "postgres" {
		return "uuid"
	}
	return "char(36)"
}
