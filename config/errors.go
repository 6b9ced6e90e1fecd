package config

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// redacted stands in for a secret value in error messages.
const redacted = "[secret]"

// FieldError is one problem with one configuration key.
type FieldError struct {
	// Key is the full configuration path, e.g. metalk8s:cluster.workers.count.
	Key string
	// Value is the offending value as written, or empty when there is none to show.
	Value string
	// Detail says what is wrong and what is allowed.
	Detail string
}

func (e FieldError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %s", e.Key, e.Detail)
	}
	return fmt.Sprintf("%s = %s: %s", e.Key, e.Value, e.Detail)
}

// Errors is every problem found in one configuration, reported together.
type Errors []FieldError

func (es Errors) Error() string { return ListErrors("invalid stack configuration "+Key, es) }

// ListErrors is what, then how many problems and one line for each: the message of every
// all-at-once report (the stack configuration's, the component package's inputs').
func ListErrors(what string, es []FieldError) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%d problem", what, len(es))
	if len(es) != 1 {
		b.WriteString("s")
	}
	b.WriteString("):")
	for _, e := range es {
		b.WriteString("\n  - ")
		b.WriteString(e.Error())
	}
	return b.String()
}

// Keys lists the configuration keys named by the errors, in order.
func (es Errors) Keys() []string {
	keys := make([]string, len(es))
	for i, e := range es {
		keys[i] = e.Key
	}
	return keys
}

// collector gathers field errors under the configuration key.
type collector struct{ errs Errors }

func (c *collector) add(path string, value any, format string, args ...any) {
	v := ""
	if value != nil {
		v = fmt.Sprint(value)
		if s, ok := value.(string); ok {
			v = shownValue(s)
		}
	}
	c.errs = append(c.errs, FieldError{Key: Key + "." + path, Value: v, Detail: fmt.Sprintf(format, args...)})
}

// maxShownLength is the most characters of a value an error message repeats: a problem stays on
// one line of the list, whatever was pasted into the stack file.
const maxShownLength = 60

// shownValue quotes a value for an error message, cut at its first line break or after
// maxShownLength characters; a cut value says how long it was.
func shownValue(s string) string {
	shown, cut := s, false
	if i := strings.IndexAny(shown, "\r\n"); i >= 0 {
		shown, cut = shown[:i], true
	}
	if utf8.RuneCountInString(shown) > maxShownLength {
		shown, cut = string([]rune(shown)[:maxShownLength]), true
	}
	if !cut {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q… (%d characters)", shown, utf8.RuneCountInString(s))
}
