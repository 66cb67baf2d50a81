// Package spool is a local, append-only, crash-safe queue of opaque records
// on disk: the place where the audit writer puts batches that the audit
// database cannot take right now, until they can be replayed.
//
// A spool is a directory of segment files (00000000000000000001.seg, ...),
// written oldest to newest and read in the same order. Each segment starts
// with an 8-byte magic string, followed by records:
//
//	uint32 little-endian  payload length
//	uint32 little-endian  CRC-32C (Castagnoli) of the payload
//	payload
//
// Append writes one record and fsyncs the segment before it returns, so a
// record that Append accepted survives kill -9 and a power cut (given a disk
// that honours fsync). Open scans every segment and cuts a torn tail (a
// record half written when the process died); bytes after a damaged record
// that are not a torn tail are kept aside in a .corrupt file, never
// silently discarded. A LOCK file with flock(2) keeps two writers out of
// one directory.
//
// The total size on disk is capped (Options.MaxBytes): Append returns
// ErrFull rather than grow past it, and the caller chooses to wait or to
// drop. Records are consumed from the front with Peek and Pop; a segment is
// deleted once every record in it is consumed.
package spool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Magic starts every segment file (format version 1).
const Magic = "AUDSPL01"

// HeaderSize is the size of a record header: length and CRC-32C.
const HeaderSize = 8

// MaxRecordBytes bounds one payload. A length field above it is damage.
const MaxRecordBytes = 256 << 20

// Defaults of Options.
const (
	DefaultMaxBytes     = 1 << 30  // 1 GiB
	DefaultSegmentBytes = 16 << 20 // 16 MiB
)

var (
	// ErrFull is returned by Append when the record would take the spool
	// past Options.MaxBytes.
	ErrFull = errors.New("spool: full")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("spool: closed")
	// ErrLocked is returned by Open when another writer holds the spool.
	ErrLocked = errors.New("spool: directory is in use by another writer")
	// ErrCorrupt reports a damaged record found while reading.
	ErrCorrupt = errors.New("spool: damaged record")
	// ErrTooLarge is returned by Append for a payload over MaxRecordBytes,
	// or one that would not fit in the spool even when empty.
	ErrTooLarge = errors.New("spool: record too large")
	// ErrEmpty is returned by Append for an empty payload.
	ErrEmpty = errors.New("spool: empty record")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum is the CRC-32C of p, as stored in record headers.
func Checksum(p []byte) uint32 { return crc32.Checksum(p, castagnoli) }

// Options tune a spool. The zero value gives the defaults.
type Options struct {
	// MaxBytes caps the bytes on disk (all segments). Default 1 GiB.
	MaxBytes int64
	// SegmentBytes is the size at which a new segment is started, and so
	// the granularity at which consumed records free disk space. Default
	// 16 MiB.
	SegmentBytes int64
	// Logger receives recovery notes (torn tails, damaged records).
	// Default slog.Default().
	Logger *slog.Logger
}

// Cursor is a position in the spool: a segment and a byte offset in it.
type Cursor struct {
	Seg uint64
	Off int64
}

type segment struct {
	seq  uint64
	path string
	size int64
}

// Stats describe a spool's content.
type Stats struct {
	Bytes    int64 `json:"bytes"`    // on disk, consumed records of live segments included
	Records  int64 `json:"records"`  // appended and not yet popped
	Segments int   `json:"segments"` // segment files
}

// Spool is an open spool directory. Its methods are safe for concurrent
// use; records are read in the order they were appended.
type Spool struct {
	dir  string
	opts Options
	lock *os.File

	mu      sync.Mutex
	segs    []*segment // oldest first
	head    *os.File   // append handle of the last segment, nil when sealed
	total   int64
	pending int64
	read    Cursor // first unconsumed record
	nextSeq uint64
	freed   chan struct{}
	closed  bool
}

// Open opens (creating it if needed) the spool in dir, locks it, and
// recovers every existing segment: torn tails are cut, damaged data is
// moved aside, and the records found are pending, oldest first.
func Open(dir string, opts Options) (*Spool, error) {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = DefaultSegmentBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: create %s: %w", dir, err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if err := lockFile(lock); err != nil {
		lock.Close()
		return nil, err
	}
	s := &Spool{dir: dir, opts: opts, lock: lock, nextSeq: 1, freed: make(chan struct{})}
	if err := s.recoverAll(); err != nil {
		lock.Close()
		return nil, err
	}
	return s, nil
}

// Dir is the spool directory.
func (s *Spool) Dir() string { return s.dir }

func segName(seq uint64) string { return fmt.Sprintf("%020d.seg", seq) }

func (s *Spool) recoverAll() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	var seqs []uint64
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".seg") {
			continue
		}
		seq, err := strconv.ParseUint(strings.TrimSuffix(name, ".seg"), 10, 64)
		if err != nil {
			continue
		}
		seqs = append(seqs, seq)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	for _, seq := range seqs {
		path := filepath.Join(s.dir, segName(seq))
		size, n, err := recoverSegment(path, s.opts.Logger)
		if err != nil {
			return err
		}
		s.nextSeq = max(s.nextSeq, seq+1)
		if n == 0 {
			_ = os.Remove(path)
			continue
		}
		s.segs = append(s.segs, &segment{seq: seq, path: path, size: size})
		s.total += size
		s.pending += n
	}
	if len(s.segs) > 0 {
		s.read = Cursor{Seg: s.segs[0].seq, Off: int64(len(Magic))}
	}
	return syncDir(s.dir)
}

// Scan reads the records of a segment image and returns the payloads and
// the offset just past the last good record. bad is true when data after it
// could not be read as a record; tornTail tells whether that data is
// merely a record cut short by a crash (nothing valid could follow it).
func Scan(data []byte, fn func(payload []byte)) (good int64, bad, tornTail bool) {
	if len(data) < len(Magic) || string(data[:len(Magic)]) != Magic {
		bad := len(data) > 0
		return 0, bad, bad && len(data) < len(Magic) && bytes.HasPrefix([]byte(Magic), data)
	}
	off := int64(len(Magic))
	for off < int64(len(data)) {
		rest := data[off:]
		if len(rest) < HeaderSize {
			return off, true, true
		}
		n := int64(binary.LittleEndian.Uint32(rest[0:4]))
		sum := binary.LittleEndian.Uint32(rest[4:8])
		if n == 0 {
			// Append never writes an empty record: zeros here are a file
			// extended by the crash but never written.
			return off, true, allZero(rest)
		}
		if n > MaxRecordBytes {
			return off, true, false
		}
		if int64(len(rest)) < HeaderSize+n {
			return off, true, true
		}
		payload := rest[HeaderSize : HeaderSize+n]
		if Checksum(payload) != sum {
			// A damaged last record is a torn write; damage followed by more
			// data is not.
			return off, true, int64(len(rest)) == HeaderSize+n
		}
		if fn != nil {
			fn(payload)
		}
		off += HeaderSize + n
	}
	return off, false, false
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// recoverSegment validates a segment file in place and returns its good
// size and record count.
func recoverSegment(path string, log *slog.Logger) (size, records int64, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, fmt.Errorf("spool: read %s: %w", path, err)
	}
	good, bad, torn := Scan(data, func([]byte) { records++ })
	if !bad {
		return good, records, nil
	}
	if good == 0 && !torn {
		// Not a segment at all (wrong magic): keep it aside, whole.
		log.Error("audit spool: segment with a bad header moved aside", "path", path)
		if err := os.Rename(path, path+".corrupt"); err != nil {
			return 0, 0, fmt.Errorf("spool: %w", err)
		}
		return 0, 0, nil
	}
	if torn {
		log.Warn("audit spool: torn tail record cut (the process stopped while writing it)",
			"path", path, "offset", good, "bytes_cut", int64(len(data))-good)
	} else {
		aside := fmt.Sprintf("%s.%d.corrupt", path, good)
		log.Error("audit spool: damaged record, the rest of the segment is moved aside",
			"path", path, "offset", good, "bytes", int64(len(data))-good, "kept_in", aside)
		if err := os.WriteFile(aside, data[good:], 0o600); err != nil {
			return 0, 0, fmt.Errorf("spool: keep damaged data: %w", err)
		}
	}
	if good == 0 {
		// A crash between creating the file and writing its magic.
		return 0, 0, nil
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(good); err != nil {
		return 0, 0, fmt.Errorf("spool: cut torn tail: %w", err)
	}
	if err := f.Sync(); err != nil {
		return 0, 0, fmt.Errorf("spool: %w", err)
	}
	return good, records, nil
}

// Append writes payload as one record and fsyncs it. It returns ErrFull,
// without writing, when the spool would grow past Options.MaxBytes.
func (s *Spool) Append(payload []byte) error {
	if len(payload) > MaxRecordBytes {
		return ErrTooLarge
	}
	if len(payload) == 0 {
		return ErrEmpty
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	need := int64(HeaderSize + len(payload))
	rotate := s.head == nil || s.segs[len(s.segs)-1].size+need > s.opts.SegmentBytes
	if rotate {
		need += int64(len(Magic))
	}
	if need+int64(len(Magic)) > s.opts.MaxBytes {
		return ErrTooLarge // would not fit even in an empty spool
	}
	if s.total+need > s.opts.MaxBytes {
		return ErrFull
	}
	if rotate {
		if err := s.newSegment(); err != nil {
			return err
		}
	}
	seg := s.segs[len(s.segs)-1]
	buf := make([]byte, HeaderSize+len(payload))
	binary.LittleEndian.PutUint32(buf[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(buf[4:8], Checksum(payload))
	copy(buf[HeaderSize:], payload)
	if _, err := s.head.WriteAt(buf, seg.size); err != nil {
		_ = s.head.Truncate(seg.size)
		return fmt.Errorf("spool: append: %w", err)
	}
	if err := s.head.Sync(); err != nil {
		_ = s.head.Truncate(seg.size)
		return fmt.Errorf("spool: fsync: %w", err)
	}
	seg.size += int64(len(buf))
	s.total += int64(len(buf))
	s.pending++
	return nil
}

// newSegment seals the current head and starts the next segment file.
func (s *Spool) newSegment() error {
	if s.head != nil {
		_ = s.head.Close()
		s.head = nil
	}
	seq := s.nextSeq
	path := filepath.Join(s.dir, segName(seq))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("spool: new segment: %w", err)
	}
	_, err = f.Write([]byte(Magic))
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	if err != nil {
		f.Close()
		_ = os.Remove(path)
		return fmt.Errorf("spool: new segment: %w", err)
	}
	s.nextSeq++
	s.head = f
	if len(s.segs) == 0 {
		s.read = Cursor{Seg: seq, Off: int64(len(Magic))}
	}
	s.segs = append(s.segs, &segment{seq: seq, path: path, size: int64(len(Magic))})
	s.total += int64(len(Magic))
	return nil
}

// Peek returns the oldest unconsumed record and the cursor just past it, or
// io.EOF when every appended record has been popped.
func (s *Spool) Peek() ([]byte, Cursor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readAt(s.read)
}

// PeekAfter returns the record at c (a cursor returned by Peek or
// PeekAfter): the one after the record that c ends. It does not consume.
func (s *Spool) PeekAfter(c Cursor) ([]byte, Cursor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readAt(c)
}

func (s *Spool) readAt(c Cursor) ([]byte, Cursor, error) {
	if s.closed {
		return nil, c, ErrClosed
	}
	for _, seg := range s.segs {
		if seg.seq < c.Seg {
			continue
		}
		off := c.Off
		if seg.seq > c.Seg {
			off = int64(len(Magic))
		}
		if off >= seg.size {
			continue
		}
		payload, err := readRecord(seg.path, off, seg.size)
		end := Cursor{Seg: seg.seq, Off: seg.size} // on damage, skip the rest of the segment
		if err != nil {
			return nil, end, err
		}
		return payload, Cursor{Seg: seg.seq, Off: off + HeaderSize + int64(len(payload))}, nil
	}
	return nil, c, io.EOF
}

func readRecord(path string, off, size int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	var hdr [HeaderSize]byte
	if _, err := f.ReadAt(hdr[:], off); err != nil {
		return nil, fmt.Errorf("%w: %s at %d: %v", ErrCorrupt, path, off, err)
	}
	n := int64(binary.LittleEndian.Uint32(hdr[0:4]))
	if n > MaxRecordBytes || off+HeaderSize+n > size {
		return nil, fmt.Errorf("%w: %s at %d: bad length %d", ErrCorrupt, path, off, n)
	}
	payload := make([]byte, n)
	if _, err := f.ReadAt(payload, off+HeaderSize); err != nil {
		return nil, fmt.Errorf("%w: %s at %d: %v", ErrCorrupt, path, off, err)
	}
	if Checksum(payload) != binary.LittleEndian.Uint32(hdr[4:8]) {
		return nil, fmt.Errorf("%w: %s at %d: checksum mismatch", ErrCorrupt, path, off)
	}
	return payload, nil
}

// Pop consumes the oldest record, whose end is next (as returned by
// Peek), and deletes the segments it leaves fully consumed.
func (s *Spool) Pop(next Cursor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.read = next
	if s.pending > 0 {
		s.pending--
	}
	freed := false
	for len(s.segs) > 0 {
		seg := s.segs[0]
		last := len(s.segs) == 1
		done := seg.seq < next.Seg || (seg.seq == next.Seg && next.Off >= seg.size)
		if !done {
			break
		}
		if last && s.pending > 0 {
			break
		}
		if last && s.head != nil {
			_ = s.head.Close()
			s.head = nil
		}
		if err := os.Remove(seg.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("spool: remove consumed segment: %w", err)
		}
		s.total -= seg.size
		s.segs = s.segs[1:]
		freed = true
		if len(s.segs) > 0 {
			s.read = Cursor{Seg: s.segs[0].seq, Off: int64(len(Magic))}
		}
	}
	if len(s.segs) == 0 {
		s.pending = 0
	}
	if freed {
		_ = syncDir(s.dir)
		close(s.freed)
		s.freed = make(chan struct{})
	}
	return nil
}

// Empty reports whether every appended record has been popped.
func (s *Spool) Empty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending == 0
}

// Freed returns a channel closed the next time consumed segments are
// deleted, for callers waiting for room after ErrFull.
func (s *Spool) Freed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.freed
}

// Stats returns the spool's size and pending record count.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Bytes: s.total, Records: s.pending, Segments: len(s.segs)}
}

// Close closes the files and releases the lock. Pending records stay on
// disk for the next Open.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.head != nil {
		_ = s.head.Close()
		s.head = nil
	}
	return s.lock.Close()
}

// ReadFile calls fn with every valid record of a spool file (a segment or
// a dead-letter file), in order, and reports damage after the last good
// record as ErrCorrupt.
func ReadFile(path string, fn func(payload []byte) error) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var ferr error
	_, bad, _ := Scan(data, func(p []byte) {
		if ferr == nil {
			ferr = fn(p)
		}
	})
	if ferr != nil {
		return ferr
	}
	if bad {
		return fmt.Errorf("%w in %s", ErrCorrupt, path)
	}
	return nil
}

// AppendFile appends payload as one record to the spool-format file at
// path (creating it with its magic), and fsyncs it. The audit writer uses
// it for the dead-letter file of rows the database refused for good.
func AppendFile(path string, payload []byte) error {
	if len(payload) > MaxRecordBytes {
		return ErrTooLarge
	}
	if len(payload) == 0 {
		return ErrEmpty
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if st.Size() == 0 {
		buf.WriteString(Magic)
	}
	var hdr [HeaderSize]byte
	binary.LittleEndian.PutUint32(hdr[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(hdr[4:8], Checksum(payload))
	buf.Write(hdr[:])
	buf.Write(payload)
	if _, err := f.WriteAt(buf.Bytes(), st.Size()); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if st.Size() == 0 {
		return syncDir(filepath.Dir(path))
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}
