// Package config fills a service's configuration struct from environment
// variables and reports every problem at once, so an operator fixes a broken
// deployment in one round instead of one variable per restart.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Problem is one missing or malformed variable.
type Problem struct {
	Name   string // environment variable name, e.g. "DATABASE_URL"
	Reason string // human-readable, e.g. "is required"
}

// Error lists every problem found by Load, sorted by variable name.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Name + " " + p.Reason
	}
	return "config: " + strings.Join(parts, "; ")
}

// Load fills dst, a pointer to a struct with caarlos0/env tags (`env:"NAME"`,
// `env:"NAME,required"`, `envDefault:"x"`, `envPrefix:"P_"` on nested structs),
// from lookup. A nil lookup means os.LookupEnv. On failure it returns an *Error
// naming every missing or malformed variable; fields of dst that parsed are
// still set.
//
// Each variable is parsed on its own (through env, so its parsers, defaults
// and options all apply) because env reports malformed values by Go field
// name, and an operator only knows the variable name.
func Load(dst any, lookup func(string) (string, bool)) error {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("config: Load needs a non-nil pointer to a struct, got %T", dst)
	}

	var fields []field
	collect(v.Elem(), "", &fields)

	// Look every variable up before parsing any, so `expand` values
	// (${OTHER}) can refer to any variable the struct mentions.
	environment := make(map[string]string, len(fields))
	for _, f := range fields {
		if val, ok := lookup(f.key); ok {
			environment[f.key] = val
		}
	}

	var problems []Problem
	for _, f := range fields {
		p, err := f.load(environment)
		if err != nil {
			return err
		}
		problems = append(problems, p...)
	}
	if len(problems) == 0 {
		return nil
	}
	slices.SortStableFunc(problems, func(a, b Problem) int { return strings.Compare(a.Name, b.Name) })
	return &Error{Problems: problems}
}

// field is one struct field read from one variable.
type field struct {
	value  reflect.Value
	sf     reflect.StructField
	prefix string
	key    string
}

// collect walks the struct the way env does: a field with its own variable
// name is a leaf; an untagged struct, or pointer to one (allocated if nil),
// is descended into with its envPrefix.
func collect(v reflect.Value, prefix string, fields *[]field) {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(sf.Tag.Get("env"), ",")
		if name == "-" {
			continue
		}
		fv := v.Field(i)
		if name != "" {
			*fields = append(*fields, field{value: fv, sf: sf, prefix: prefix, key: prefix + name})
			continue
		}
		switch {
		case sf.Type.Kind() == reflect.Struct:
			collect(fv, prefix+sf.Tag.Get("envPrefix"), fields)
		case sf.Type.Kind() == reflect.Pointer && sf.Type.Elem().Kind() == reflect.Struct:
			if fv.IsNil() {
				fv.Set(reflect.New(sf.Type.Elem()))
			}
			collect(fv.Elem(), prefix+sf.Tag.Get("envPrefix"), fields)
		}
	}
}

// load parses the variable into a one-field struct of the same type and tag,
// then copies the result into place. It returns the operator's problems, or
// an error for a programming mistake (bad tag, unsupported type).
func (f field) load(environment map[string]string) ([]Problem, error) {
	one := reflect.New(reflect.StructOf([]reflect.StructField{{Name: "V", Type: f.sf.Type, Tag: f.sf.Tag}}))
	err := env.ParseWithOptions(one.Interface(), env.Options{Environment: environment, Prefix: f.prefix})
	if err == nil {
		f.value.Set(one.Elem().Field(0))
		return nil, nil
	}
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return nil, fmt.Errorf("config: %s: %w", f.key, err)
	}
	var problems []Problem
	for _, e := range agg.Errors {
		var (
			notSet env.VarIsNotSetError
			empty  env.EmptyVarError
			parse  env.ParseError
			file   env.LoadFileContentError
		)
		switch {
		case errors.As(e, &notSet):
			problems = append(problems, Problem{f.key, "is required"})
		case errors.As(e, &empty):
			problems = append(problems, Problem{f.key, "must not be empty"})
		case errors.As(e, &parse):
			problems = append(problems, Problem{f.key, f.malformed(environment, parse.Err)})
		case errors.As(e, &file):
			problems = append(problems, Problem{f.key, fmt.Sprintf("names a file that cannot be read: %v", file.Err)})
		default:
			return nil, fmt.Errorf("config: field %s (%s): %w", f.sf.Name, f.key, e)
		}
	}
	return problems, nil
}

// malformed says what is wrong with the value in terms of the field's type.
func (f field) malformed(environment map[string]string, err error) string {
	val, ok := environment[f.key]
	if def, hasDef := f.sf.Tag.Lookup("envDefault"); hasDef && val == "" {
		return fmt.Sprintf("has a malformed default %q in the code: %v", def, err)
	}
	if !ok {
		return fmt.Sprintf("could not be parsed: %v", err)
	}
	t := f.sf.Type
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeFor[time.Duration]():
		return fmt.Sprintf("is %q, not a duration (use e.g. 5s, 250ms, 1m30s)", val)
	case reflect.TypeFor[url.URL]():
		// Only the reason: the value may hold a password.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Sprintf("is not a valid URL: %v", err)
	}
	switch t.Kind() {
	case reflect.Bool:
		return fmt.Sprintf("is %q, not a boolean (use true or false)", val)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fmt.Sprintf("is %q, not an integer (or out of range)", val)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprintf("is %q, not a non-negative integer (or out of range)", val)
	case reflect.Float32, reflect.Float64:
		return fmt.Sprintf("is %q, not a number", val)
	}
	return fmt.Sprintf("is not valid: %v", err)
}
