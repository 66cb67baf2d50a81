package textclean

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClean(t *testing.T) {
	cases := map[string]string{
		"plain":              "plain",
		"a\x00b":             "ab",
		"bad\xffbyte":        "bad\uFFFDbyte",
		"Validação":          "Validação",
		"\x00\xc3\x28\x00":   "\uFFFD(",
		"":                   "",
		"emoji 🎉 ok\x00\x00": "emoji 🎉 ok",
	}
	for in, want := range cases {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTruncateCountsRunes(t *testing.T) {
	s := strings.Repeat("ç", 10)
	got, cut := Truncate(s, 4)
	if !cut || got != "çççç" {
		t.Fatalf("Truncate = %q, %v", got, cut)
	}
	got, cut = Truncate(s, 10)
	if cut || got != s {
		t.Fatalf("Truncate at exact length = %q, %v", got, cut)
	}
}

func FuzzClean(f *testing.F) {
	for _, seed := range []string{"", "a\x00b", "\xff\xfe", "ação", strings.Repeat("\x00", 100), "\xed\xa0\x80"} {
		f.Add(seed, 5)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		c := Clean(s)
		if !utf8.ValidString(c) || strings.IndexByte(c, 0) >= 0 {
			t.Fatalf("Clean(%q) = %q is not clean", s, c)
		}
		if max < 0 {
			max = -max
		}
		max %= 64
		tr, cut := Truncate(c, max)
		if n := utf8.RuneCountInString(tr); n > max {
			t.Fatalf("Truncate(%q, %d) kept %d runes", c, max, n)
		}
		if cut != (utf8.RuneCountInString(c) > max) || !strings.HasPrefix(c, tr) {
			t.Fatalf("Truncate(%q, %d) = %q, %v", c, max, tr, cut)
		}
	})
}
