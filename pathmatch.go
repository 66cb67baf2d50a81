package audit

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// pathPattern is a compiled Include, Exclude or body-rule pattern. Most
// are a literal anchored at the start (the default Include, "^/api/"):
// those are tested with strings.HasPrefix, which gives the regular
// expression's answer in a hundredth of its time, on every request.
type pathPattern struct {
	re     *regexp.Regexp
	prefix string // the literal, when literal is true
	// literal: the pattern is ^ followed by a case-sensitive literal.
	literal bool
}

func compilePattern(expr string) (pathPattern, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return pathPattern{}, err
	}
	p := pathPattern{re: re}
	p.prefix, p.literal = anchoredLiteral(expr)
	return p, nil
}

// anchoredLiteral reports whether expr, parsed as regexp.Compile parses
// it, is the start of the text followed by a literal, and returns the
// literal. A literal that ignores case, or holds U+FFFD (which a regular
// expression also matches against invalid UTF-8), does not count.
func anchoredLiteral(expr string) (string, bool) {
	t, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return "", false
	}
	t = t.Simplify()
	if t.Op != syntax.OpConcat || len(t.Sub) != 2 || t.Sub[0].Op != syntax.OpBeginText {
		return "", false
	}
	lit := t.Sub[1]
	if lit.Op != syntax.OpLiteral || lit.Flags&syntax.FoldCase != 0 {
		return "", false
	}
	s := string(lit.Rune)
	if strings.ContainsRune(s, utf8.RuneError) {
		return "", false
	}
	return s, true
}

// MatchString reports whether path matches the pattern.
func (p pathPattern) MatchString(path string) bool {
	if p.literal {
		return strings.HasPrefix(path, p.prefix)
	}
	return p.re.MatchString(path)
}
