package writer

import (
	"bytes"
	"math"
	"strconv"

	"github.com/jackc/pgx/v5/pgtype"
)

// response_time_ms is a numeric column on PostgreSQL (GORM's type for a
// float64). pgx encodes a float64 for it by formatting the number as text
// and building it back with math/big: about fifteen allocations and 0.75 µs a
// row. copyNumeric is the value the COPY path hands pgx instead; the codec
// that numericFastPath installs on the writer's connections encodes it to
// the same bytes with integer arithmetic, and falls back to pgx's own
// encoding for what does not fit (NaN, infinities, more than 16 digits).

// copyNumeric is a float64 bound for a numeric column in a binary COPY.
// A connection without the fast codec encodes it as a float64 (pgx unwraps
// named float types), so the bytes never depend on which path ran.
type copyNumeric float64

// numericFastPath makes m encode copyNumeric values with numericCodec. It
// is done once per connection: the codec stays on the connection's type
// map, and every other value is encoded and decoded by the codec it wraps.
func numericFastPath(m *pgtype.Map) {
	t, ok := m.TypeForOID(pgtype.NumericOID)
	if !ok {
		return
	}
	if _, done := t.Codec.(numericCodec); done {
		return
	}
	m.RegisterType(&pgtype.Type{Name: t.Name, OID: t.OID, Codec: numericCodec{t.Codec}})
}

// numericCodec is PostgreSQL's numeric codec with a direct binary encoding
// of copyNumeric.
type numericCodec struct{ pgtype.Codec }

// PlanEncode returns the direct plan for a copyNumeric in binary format and
// the wrapped codec's plan for everything else.
func (c numericCodec) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	if _, ok := value.(copyNumeric); ok && format == pgtype.BinaryFormatCode {
		if next := c.Codec.PlanEncode(m, oid, format, pgtype.Float8{}); next != nil {
			return numericPlan{fallback: next}
		}
	}
	return c.Codec.PlanEncode(m, oid, format, value)
}

// numericPlan encodes a copyNumeric; fallback is pgx's plan for a float,
// used for what appendNumeric cannot encode.
type numericPlan struct{ fallback pgtype.EncodePlan }

func (p numericPlan) Encode(value any, buf []byte) ([]byte, error) {
	f := float64(value.(copyNumeric))
	if out, ok := appendNumeric(buf, f); ok {
		return out, nil
	}
	return p.fallback.Encode(pgtype.Float8{Float64: f, Valid: true}, buf)
}

// appendNumeric appends f in PostgreSQL's binary numeric format, byte for
// byte what pgx writes for a float64 (its shortest decimal form, the same
// digits, weight and display scale), and reports false, appending nothing,
// when f is not finite or its decimal form has more than 16 digits.
func appendNumeric(buf []byte, f float64) ([]byte, bool) {
	var text [32]byte
	s := strconv.AppendFloat(text[:0], f, 'f', -1, 64)
	if math.IsNaN(f) || math.IsInf(f, 0) || len(s) > len(text) {
		return buf, false
	}
	// The decimal's integer digits and exponent, as pgx's parseNumericString
	// finds them.
	var exp int32
	if dot := bytes.IndexByte(s, '.'); dot < 0 {
		for len(s) > 1 && s[len(s)-1] == '0' && s[len(s)-2] != '-' {
			s = s[:len(s)-1]
			exp++
		}
	} else {
		exp = int32(-(len(s) - dot - 1))
		s = append(s[:dot], s[dot+1:]...)
	}
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 16 { // 16 digits, times 1,000 below, stay below 2^64
		return buf, false
	}
	var abs uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			return buf, false
		}
		abs = abs*10 + uint64(c-'0')
	}
	dscale := int16(0)
	if exp < 0 {
		dscale = int16(-exp)
	}
	// Scale to an exponent that is a multiple of 4: base-10,000 digits.
	switch exp % 4 {
	case 1, -3:
		exp, abs = exp-1, abs*10
	case 2, -2:
		exp, abs = exp-2, abs*100
	case 3, -1:
		exp, abs = exp-3, abs*1000
	}
	var whole, frac uint64 = abs, 0
	fracDigits := 0
	if exp < 0 {
		div := uint64(1)
		for range -exp {
			div *= 10
		}
		whole, frac = abs/div, abs%div
		fracDigits = int(-exp) / 4
	}
	var w [6]uint16 // base-10,000 digits of whole, least significant first
	nw := 0
	for ; whole != 0; whole /= 10000 {
		w[nw] = uint16(whole % 10000)
		nw++
	}
	var fd [6]uint16 // base-10,000 digits of frac, least significant first
	nf := 0
	if frac != 0 {
		for i := 0; i < fracDigits; i++ {
			fd[nf] = uint16(frac % 10000)
			frac /= 10000
			nf++
		}
	}
	var weight int16
	if nw > 0 {
		weight = int16(nw - 1)
		if exp > 0 {
			weight += int16(exp / 4)
		}
	} else {
		weight = int16(exp/4) - 1 + int16(nf)
	}
	sign := uint16(0)
	if neg && abs != 0 {
		sign = 16384
	}
	buf = appendUint16(buf, uint16(nw+nf))
	buf = appendUint16(buf, uint16(weight))
	buf = appendUint16(buf, sign)
	buf = appendUint16(buf, uint16(dscale))
	for i := nw - 1; i >= 0; i-- {
		buf = appendUint16(buf, w[i])
	}
	for i := nf - 1; i >= 0; i-- {
		buf = appendUint16(buf, fd[i])
	}
	return buf, true
}

func appendUint16(buf []byte, v uint16) []byte { return append(buf, byte(v>>8), byte(v)) }
