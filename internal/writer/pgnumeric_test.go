package writer

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"
)

// numericValues are response times as the middleware makes them (whole
// microseconds in milliseconds), and floats of every size and sign.
func numericValues() []float64 {
	vals := []float64{0, math.Copysign(0, -1), 1, -1, 0.001, 0.01, 0.1, 10, 100, 1000, 10000, 1e5, 1e15, 1e16, 1e17, 1e20, 1e300,
		1e-5, 1e-10, 1e-20, 123456789.123, 9999.9999, 99999999.9999, 1.5e-7, math.MaxFloat64, math.SmallestNonzeroFloat64,
		math.NaN(), math.Inf(1), math.Inf(-1), 0.30000000000000004, 2.5e-3, 12345678901234.5}
	for us := range 200_000 {
		vals = append(vals, float64(us)/1000)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		f := rng.Float64() * math.Pow(10, float64(rng.IntN(40)-20))
		if rng.IntN(2) == 0 {
			f = -f
		}
		vals = append(vals, f, math.Round(f*1000)/1000, math.Round(f))
	}
	return vals
}

// The fast numeric encoding writes exactly the bytes pgx writes for the
// same float64, for every value, including those it hands back to pgx.
func TestNumericFastPathMatchesPgx(t *testing.T) {
	plain := pgtype.NewMap()
	fast := pgtype.NewMap()
	numericFastPath(fast)
	numericFastPath(fast) // a second call keeps the one codec
	if _, ok := fast.TypeForOID(pgtype.NumericOID); !ok {
		t.Fatal("numeric type lost")
	}
	direct := 0
	for _, f := range numericValues() {
		want, err := plain.Encode(pgtype.NumericOID, pgtype.BinaryFormatCode, f, nil)
		if err != nil {
			t.Fatalf("pgx encode %v: %v", f, err)
		}
		got, err := fast.Encode(pgtype.NumericOID, pgtype.BinaryFormatCode, copyNumeric(f), nil)
		if err != nil {
			t.Fatalf("fast encode %v: %v", f, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%v (%g): got % x, pgx writes % x", f, f, got, want)
		}
		if _, ok := appendNumeric(nil, f); ok {
			direct++
		}
		// Without the codec (a connection it was not installed on), the
		// value is still encoded as the float it is.
		got, err = plain.Encode(pgtype.NumericOID, pgtype.BinaryFormatCode, copyNumeric(f), nil)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%v without the codec: got % x, %v; want % x", f, got, err, want)
		}
	}
	if direct < 200_000 {
		t.Fatalf("only %d values took the direct path", direct)
	}
}

// The direct path allocates nothing.
func TestNumericFastPathAllocations(t *testing.T) {
	buf := make([]byte, 0, 64)
	if n := testing.AllocsPerRun(100, func() { buf, _ = appendNumeric(buf[:0], 12.345) }); n != 0 {
		t.Fatalf("%v allocations per value", n)
	}
}

func BenchmarkNumericEncode(b *testing.B) {
	for _, m := range []struct {
		name string
		m    *pgtype.Map
		v    any
	}{{"pgx-float64", pgtype.NewMap(), 12.345}, {"fast", fastMap(), copyNumeric(12.345)}} {
		b.Run(m.name, func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 64)
			for b.Loop() {
				var err error
				if buf, err = m.m.Encode(pgtype.NumericOID, pgtype.BinaryFormatCode, m.v, buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func fastMap() *pgtype.Map {
	m := pgtype.NewMap()
	numericFastPath(m)
	return m
}
