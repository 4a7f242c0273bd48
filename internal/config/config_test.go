package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadFileEnvOverrides(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "flowlake.yaml")
	yml := `
data_dir: /var/lib/flowlake
collector:
  udp: [":9995"]
  batch_rows: 100
  sampling_overrides:
    192.0.2.1: 1000
archive:
  flush_interval: 2s
enrich:
  networks: nets.yaml
`
	if err := os.WriteFile(p, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(p, []string{"FLOWLAKE_HTTP_LISTEN=127.0.0.1:9999", "FLOWLAKE_COLLECTOR_TCP=:1,:2", "FLOWLAKE_ARCHIVE_RETAIN_AGE=720h", "OTHER=x"})
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/var/lib/flowlake" || len(c.Collector.UDP) != 1 || c.Collector.UDP[0] != ":9995" || c.Collector.BatchRows != 100 {
		t.Errorf("file values not applied: %+v", c)
	}
	if c.Collector.SamplingOverrides["192.0.2.1"] != 1000 || c.Archive.FlushInterval != 2*time.Second || c.Enrich.Networks != "nets.yaml" {
		t.Errorf("nested file values not applied: %+v", c)
	}
	if c.HTTP.Listen != "127.0.0.1:9999" || strings.Join(c.Collector.TCP, " ") != ":1 :2" || c.Archive.RetainAge != 720*time.Hour {
		t.Errorf("env overrides not applied: %+v", c)
	}
	// Defaults survive where the file is silent.
	if c.Collector.ReceiveBuffer != 8<<20 || c.LogLevel != "info" {
		t.Errorf("defaults lost: %+v", c)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("collector:\n  udpp: [1]\n"), 0o644)
	if _, err := Load(bad, nil); err == nil || !strings.Contains(err.Error(), "udpp") {
		t.Errorf("unknown key: got %v", err)
	}
	if _, err := Load("", []string{"FLOWLAKE_COLLECTOR_BATCH_ROWS=many"}); err == nil || !strings.Contains(err.Error(), "FLOWLAKE_COLLECTOR_BATCH_ROWS") {
		t.Errorf("bad env: got %v", err)
	}
	if _, err := Load("", []string{"FLOWLAKE_LOG_LEVEL=loud"}); err == nil {
		t.Error("bad log level accepted")
	}
	empty := filepath.Join(dir, "empty.yaml")
	os.WriteFile(empty, nil, 0o644)
	if c, err := Load(empty, nil); err != nil || c.DataDir != "./data" {
		t.Errorf("empty file: %v %+v", err, c)
	}
}

func TestDefaultValidates(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	// One default per setting: the archive section is the archive's own.
	if c.Archive.FlushRows != 512<<10 || c.Collector.ReadBatch != 64 {
		t.Errorf("defaults: flush_rows %d, read_batch %d", c.Archive.FlushRows, c.Collector.ReadBatch)
	}
}

// TestValidateNamesKeys: every problem is reported, each with its key.
func TestValidateNamesKeys(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "flowlake.yaml")
	yml := `
log_format: xml
collector:
  read_batch: 0
  sampling_overrides: {not-an-ip: 10}
archive:
  retain_age: -1h
enrich:
  snmp: {version: "1"}
imports:
  - {dir: /tmp/a}
  - {format: aws}
query:
  max_rows: -1
`
	if err := os.WriteFile(p, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(p, []string{"FLOWLAKE_HTTP_LISTEN=8080"})
	if err == nil {
		t.Fatal("invalid configuration accepted")
	}
	for _, want := range []string{
		`config: log_format: "xml"`,
		"config: collector.read_batch: must be positive",
		`config: collector.sampling_overrides: "not-an-ip"`,
		"config: archive.retain_age: must not be negative",
		`config: enrich.snmp.version: "1"`,
		"config: imports[1].dir: is required",
		`config: imports[1].format: "aws"`,
		"config: query.max_rows: must not be negative",
		`config: http.listen: "8080"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "imports[0]") {
		t.Errorf("a valid import reported:\n%v", err)
	}
}
