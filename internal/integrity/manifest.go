package integrity

import (
	"bytes"
	"crypto/sha256"
	"slices"

	"github.com/gin-audit-trail/audit/entities"
)

// entrySize is the size of one manifest entry: the table (1 byte), the
// row's id (16) and the first 16 bytes of its row hash.
const entrySize = 1 + 16 + 16

// Entry is one row of a batch as its manifest lists it.
type Entry struct {
	Table Table
	ID    entities.ID
	Hash  [16]byte // the first half of the row's SHA-256
}

// compareEntries orders entries as a manifest does: by table, then by id
// (byte order, which is also the text order of lower-case UUIDs and the
// order of PostgreSQL's uuid type).
func compareEntries(a, b Entry) int {
	if a.Table != b.Table {
		return int(a.Table) - int(b.Table)
	}
	return bytes.Compare(a.ID[:], b.ID[:])
}

// appendEntry appends e's 33 bytes to m.
func appendEntry(m []byte, e Entry) []byte {
	m = append(m, byte(e.Table))
	m = append(m, e.ID[:]...)
	return append(m, e.Hash[:]...)
}

// EncodeManifest is the manifest of entries, which must be in manifest
// order: each entry's table byte, id and half hash, concatenated.
func EncodeManifest(entries []Entry) []byte {
	m := make([]byte, 0, len(entries)*entrySize)
	for _, e := range entries {
		m = appendEntry(m, e)
	}
	return m
}

// DecodeManifest reads a manifest; ok is false when its length is not a
// whole number of entries.
func DecodeManifest(m []byte) (entries []Entry, ok bool) {
	if len(m)%entrySize != 0 {
		return nil, false
	}
	entries = make([]Entry, 0, len(m)/entrySize)
	for len(m) > 0 {
		var e Entry
		e.Table = Table(m[0])
		copy(e.ID[:], m[1:17])
		copy(e.Hash[:], m[17:33])
		entries = append(entries, e)
		m = m[entrySize:]
	}
	return entries, true
}

// ManifestHash is a digest's rows hash: SHA-256 of "audit-manifest-v1"
// 0x00 followed by the manifest.
func ManifestHash(m []byte) []byte {
	h := sha256.New()
	h.Write([]byte("audit-manifest-v1\x00"))
	h.Write(m)
	return h.Sum(nil)
}

// entriesOf hashes every row of b into manifest entries, in manifest
// order.
func entriesOf(b *entities.Batch) []Entry {
	out := make([]Entry, 0, b.Len())
	var h Hasher
	add := func(t Table, id entities.ID, sum [32]byte) {
		e := Entry{Table: t, ID: id}
		copy(e.Hash[:], sum[:16])
		out = append(out, e)
	}
	for i := range b.Requests {
		add(Requests, b.Requests[i].ID, h.Request(&b.Requests[i]))
	}
	for i := range b.Logins {
		add(Logins, b.Logins[i].ID, h.Login(&b.Logins[i]))
	}
	for i := range b.Processes {
		add(Processes, b.Processes[i].ID, h.Process(&b.Processes[i]))
	}
	for i := range b.Steps {
		add(Steps, b.Steps[i].ID, h.Step(&b.Steps[i]))
	}
	for i := range b.Registrations {
		add(Registrations, b.Registrations[i].ID, h.Registration(&b.Registrations[i]))
	}
	slices.SortFunc(out, compareEntries)
	return out
}
