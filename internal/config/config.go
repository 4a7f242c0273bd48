// Package config holds flowlake's configuration: one YAML file with defaults
// for everything, overridden by FLOWLAKE_* environment variables and then by
// command-line flags (the caller applies flags last).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/flowlake/flowlake/internal/archive"
	"github.com/flowlake/flowlake/internal/collect"
	"github.com/flowlake/flowlake/internal/enrich"
	"github.com/flowlake/flowlake/internal/httpserver"
	"github.com/flowlake/flowlake/internal/importer"
	"github.com/flowlake/flowlake/internal/query"
)

// Config is the whole configuration of `flowlake serve`. Each section is
// the Config of the package it configures, with its defaults and checks
// beside the code; this package only assembles them, loads the file and
// applies the environment.
type Config struct {
	// DataDir holds the archive, collector state (templates) and import state.
	DataDir string `yaml:"data_dir"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log_level"`
	// LogFormat is text or json.
	LogFormat string            `yaml:"log_format"`
	HTTP      httpserver.Config `yaml:"http"`
	Collector collect.Config    `yaml:"collector"`
	Archive   archive.Config    `yaml:"archive"`
	Enrich    enrich.Config     `yaml:"enrich"`
	Output    Outputs           `yaml:"output"`
	// Imports are cloud flow-log directories serve keeps importing from.
	Imports []importer.WatchConfig `yaml:"imports"`
	Query   query.Config           `yaml:"query"`
}

// Outputs configures the outputs besides the store, one key per driver
// (internal/output/...).
type Outputs struct {
	// JSONL writes every flow as a JSON line to this file ("-" for
	// stdout, empty for none); see package output/jsonl.
	JSONL string `yaml:"jsonl"`
}

// Default returns the configuration used when nothing is configured: each
// section's DefaultConfig.
func Default() Config {
	return Config{
		DataDir:   "./data",
		LogLevel:  "info",
		LogFormat: "text",
		HTTP:      httpserver.DefaultConfig(),
		Collector: collect.DefaultConfig(),
		Archive:   archive.DefaultConfig(),
		Enrich:    enrich.DefaultConfig(),
		Query:     query.DefaultConfig(),
	}
}

// Load reads the YAML file at path (empty: defaults only) over the defaults,
// then applies FLOWLAKE_* environment variables from environ, and
// validates the result.
func Load(path string, environ []string) (Config, error) {
	c := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if err := applyEnv(&c, environ); err != nil {
		return c, err
	}
	for i := range c.Imports {
		c.Imports[i] = c.Imports[i].WithDefaults(i)
	}
	return c, c.Validate()
}

// Validate checks every section; each problem is reported with its key
// ("config: collector.read_batch: must be positive").
func (c *Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data_dir: must not be empty"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log_level: %q: want debug, info, warn or error", c.LogLevel))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log_format: %q: want text or json", c.LogFormat))
	}
	errs = append(errs, under("http", c.HTTP.Validate())...)
	errs = append(errs, under("collector", c.Collector.Validate())...)
	errs = append(errs, under("archive", c.Archive.Validate())...)
	errs = append(errs, under("enrich", c.Enrich.Validate())...)
	errs = append(errs, under("query", c.Query.Validate())...)
	names := map[string]bool{}
	for i, ic := range c.Imports {
		errs = append(errs, under(fmt.Sprintf("imports[%d]", i), ic.Validate())...)
		if names[ic.Name] {
			errs = append(errs, fmt.Errorf("imports[%d].name: %q is used twice (each import keeps its own progress)", i, ic.Name))
		}
		names[ic.Name] = true
	}
	for i, e := range errs {
		errs[i] = fmt.Errorf("config: %w", e)
	}
	return errors.Join(errs...)
}

// under prefixes each of err's errors (a section's Validate may join
// several) with the section's key.
func under(key string, err error) []error {
	if err == nil {
		return nil
	}
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	out := make([]error, len(list))
	for i, e := range list {
		out[i] = fmt.Errorf("%s.%w", key, e)
	}
	return out
}

// EnvPrefix starts every environment override: FLOWLAKE_DATA_DIR,
// FLOWLAKE_HTTP_LISTEN, FLOWLAKE_COLLECTOR_UDP (comma separated), ...
const EnvPrefix = "FLOWLAKE_"

// applyEnv sets scalar and list fields named by their YAML path, upper-cased,
// joined with underscores. Maps and nested lists of structs are file-only.
func applyEnv(c *Config, environ []string) error {
	vars := map[string]string{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, EnvPrefix) {
			vars[k] = v
		}
	}
	if len(vars) == 0 {
		return nil
	}
	return walk(reflect.ValueOf(c).Elem(), strings.TrimSuffix(EnvPrefix, "_"), vars)
}

var durationType = reflect.TypeOf(time.Duration(0))

func walk(v reflect.Value, prefix string, vars map[string]string) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		name := prefix + "_" + strings.ToUpper(tag)
		fv := v.Field(i)
		if f.Type.Kind() == reflect.Struct {
			if err := walk(fv, name, vars); err != nil {
				return err
			}
			continue
		}
		s, ok := vars[name]
		if !ok {
			continue
		}
		if err := set(fv, s); err != nil {
			return fmt.Errorf("config: environment %s=%q: %w", name, s, err)
		}
	}
	return nil
}

func set(v reflect.Value, s string) error {
	if v.Type() == durationType {
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint64, reflect.Uint32, reflect.Uint16:
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return err
		}
		v.SetUint(n)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			return errors.New("only settable in the config file")
		}
		var parts []string
		for p := range strings.SplitSeq(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		v.Set(reflect.ValueOf(parts))
	default:
		return errors.New("only settable in the config file")
	}
	return nil
}
