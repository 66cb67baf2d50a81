package pdf

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWrapKeepsEveryCharacterAndRespectsWidth(t *testing.T) {
	d, err := newDoc(Meta{Title: "wrap"})
	require.NoError(t, err)
	texts := []string{
		"Validação dos Dados antes de salvar no banco de dados",
		strings.Repeat("/api/produtos/ações", 30),
		"linha um\nlinha dois\n\nlinha quatro",
		"",
	}
	for _, s := range texts {
		lines := d.wrap(s, 120, fontCell)
		for _, l := range lines {
			assert.LessOrEqual(t, d.width(l, fontCell), 120.0, "line %q is too wide", l)
		}
		squeeze := func(s string) string { return strings.Join(strings.Fields(s), "") }
		assert.Equal(t, squeeze(s), squeeze(strings.Join(lines, " ")))
	}
	require.NoError(t, d.err)
}

func TestCleanCapsAndRepairs(t *testing.T) {
	assert.Equal(t, "ab\uFFFDc d", clean("a\x00b\xffc\td"))
	assert.Equal(t, "linha\nnova", clean("linha\r\nnova"))
	long := clean(strings.Repeat("ç", 60_000))
	assert.Equal(t, maxFieldRunes+1, len([]rune(long)))
	assert.True(t, strings.HasSuffix(long, "…"))
	s := "Validação dos Dados"
	assert.Equal(t, s, clean(s))
}

func TestFitEllipsizes(t *testing.T) {
	d, err := newDoc(Meta{Title: "fit"})
	require.NoError(t, err)
	got := d.fit(strings.Repeat("abc ", 100), 50, fontCell)
	assert.True(t, strings.HasSuffix(got, "…"))
	assert.LessOrEqual(t, d.width(got, fontCell), 50.0)
	assert.Equal(t, "curto", d.fit("curto", 50, fontCell))
}
