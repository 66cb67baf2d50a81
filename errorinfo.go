package audit

import (
	"fmt"
	"reflect"
	"runtime"
	"strings"
)

// genericErrorTypes are error types that say nothing about what failed:
// the plain errors of errors.New and fmt.Errorf, and the wrappers that only
// add text or join errors. errorType looks through them.
var genericErrorTypes = map[string]bool{
	"*errors.errorString": true,
	"*fmt.wrapError":      true,
	"*fmt.wrapErrors":     true,
	"*errors.joinError":   true,
	"*gin.Error":          true,
}

// errorType names the innermost meaningful type of err's chain (following
// Unwrap() error, and the first error of Unwrap() []error): for
// fmt.Errorf("save: %w", &fs.PathError{...}) that is "*fs.PathError". A
// chain of plain errors (errors.New, fmt.Errorf without %w) is "error".
func errorType(err error) string {
	found := ""
	for depth := 0; err != nil && depth < 100; depth++ {
		if t := fmt.Sprintf("%T", err); !genericErrorTypes[t] {
			found = t
		}
		err = unwrapOne(err)
	}
	if found == "" {
		return "error"
	}
	return found
}

func unwrapOne(err error) error {
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return u.Unwrap()
	case interface{ Unwrap() []error }:
		if errs := u.Unwrap(); len(errs) > 0 {
			return errs[0]
		}
	}
	return nil
}

// stackTrace returns the stack trace carried by err or by an error it
// wraps, the innermost one (where the error was made): any error with a
// StackTrace() method, such as github.com/pkg/errors' (printed with %+v,
// which lists function, file and line) or one returning program counters
// ([]uintptr, resolved here). "" when the chain carries none.
func stackTrace(err error) string {
	trace := ""
	for depth := 0; err != nil && depth < 100; depth++ {
		if s := callStackTrace(err); s != "" {
			trace = s
		}
		err = unwrapOne(err)
	}
	return strings.TrimLeft(trace, "\n")
}

// callStackTrace calls err's StackTrace method, if it has one with no
// arguments and one result, and formats the result.
func callStackTrace(err error) string {
	m := reflect.ValueOf(err).MethodByName("StackTrace")
	if !m.IsValid() || m.Type().NumIn() != 0 || m.Type().NumOut() != 1 {
		return ""
	}
	out := m.Call(nil)[0].Interface()
	if pcs, ok := out.([]uintptr); ok {
		return formatPCs(pcs)
	}
	return fmt.Sprintf("%+v", out)
}

// formatPCs prints program counters like a panic's stack: function, then
// file:line indented.
func formatPCs(pcs []uintptr) string {
	var b strings.Builder
	frames := runtime.CallersFrames(pcs)
	for {
		f, more := frames.Next()
		if f.Function != "" || f.File != "" {
			fmt.Fprintf(&b, "%s\n\t%s:%d\n", f.Function, f.File, f.Line)
		}
		if !more {
			break
		}
	}
	return b.String()
}
