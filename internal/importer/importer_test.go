package importer

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/output/jsonl"
	"github.com/flowlake/flowlake/internal/testenv/recorder"
)

const cloud = "../../testdata/cloud"

// memWriter keeps the rows; it fails once failAfter batches were written
// (when failAfter > 0) to simulate a crash mid-file.
type memWriter struct {
	recorder.Recorder
	batches   int
	failAfter int
}

func (m *memWriter) WriteBatch(b *flow.Batch) error {
	if m.failAfter > 0 && m.batches == m.failAfter {
		return errors.New("disk full")
	}
	m.batches++
	return m.Recorder.WriteBatch(b)
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func run(t *testing.T, opt Options, paths ...string) (*Runner, error) {
	t.Helper()
	if opt.Logger == nil {
		opt.Logger = quiet()
	}
	r, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	return r, r.Import(context.Background(), paths)
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// genAWS writes n default-format lines with distinct source ports.
func genAWS(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "2 123456789012 eni-0a 10.0.%d.%d 10.1.0.1 %d 443 6 2 120 1700000000 1700000060 ACCEPT OK\n", i/250%250, i%250, 1024+i%60000)
	}
	return b.Bytes()
}

func TestDetect(t *testing.T) {
	for file, want := range map[string]string{
		"aws/otelcontrib-s3-default-with-header.log":                         FormatAWSVPC,
		"aws/awsdocs-default-v2-accept-reject-nodata-skipdata-icmp-ipv6.log": FormatAWSVPC,
		"aws/otelcontrib-cwlogs-subscription-custom-4fields.json":            FormatAWSVPC,
		"azure-vnet/msdocs-vnet-flowlog-v4-sample-PT1H.json":                 FormatAzureVNet,
		"azure-vnet/flowlake-vnet-v4-nic-subnet-generated.ndjson":            FormatAzureVNet,
		"azure-nsg/msdocs-nsg-flowlog-v2-sample-PT1H.json":                   FormatAzureNSG,
		"azure-nsg/flowlake-nsg-v1-generated.json":                           FormatAzureNSG,
		"gcp/flowlake-gcp-vpc-generated.ndjson":                              FormatGCPVPC,
		"gcp/flowlake-gcp-vpc-generated-array.json":                          FormatGCPVPC,
		"aws/awsdocs-available-fields-v2-v5.md":                              "",
	} {
		data, err := os.ReadFile(filepath.Join(cloud, file))
		if err != nil {
			t.Fatal(err)
		}
		if got := Detect(data[:min(len(data), 8192)]); got != want {
			t.Errorf("%s: detected %q, want %q", file, got, want)
		}
	}
}

// TestDirectoryAutoDetect imports a tree of all formats (one gzipped) with
// format detection and checks the totals per source type.
func TestDirectoryAutoDetect(t *testing.T) {
	tmp := t.TempDir()
	in := filepath.Join(tmp, "in")
	copyFile(t, filepath.Join(cloud, "aws/otelcontrib-s3-default-with-header.log"), filepath.Join(in, "aws/a.log"))
	copyFile(t, filepath.Join(cloud, "azure-vnet/msdocs-vnet-flowlog-v4-sample-PT1H.json"), filepath.Join(in, "vnet/PT1H.json"))
	copyFile(t, filepath.Join(cloud, "azure-nsg/msdocs-nsg-flowlog-v2-sample-PT1H.json"), filepath.Join(in, "nsg/PT1H.json"))
	copyFile(t, filepath.Join(cloud, "gcp/flowlake-gcp-vpc-generated-array.json"), filepath.Join(in, "gcp/x.json"))
	// Gzipped default-format file in the S3 layout: account/region from the key.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(genAWS(5))
	zw.Close()
	key := filepath.Join(in, "AWSLogs/210987654321/vpcflowlogs/eu-west-3/2026/11/22/f.log.gz")
	os.MkdirAll(filepath.Dir(key), 0o755)
	os.WriteFile(key, gz.Bytes(), 0o644)

	w := &memWriter{}
	r, err := run(t, Options{Writer: w, DataDir: filepath.Join(tmp, "data")}, in)
	if err != nil {
		t.Fatal(err)
	}
	count := map[uint8]int{}
	for _, row := range w.Rows {
		count[row.SourceType]++
	}
	want := map[uint8]int{flow.SourceTypeAwsVpc: 2 + 5, flow.SourceTypeAzureVnet: 19, flow.SourceTypeAzureNsg: 11, flow.SourceTypeGcpVpc: 2}
	if fmt.Sprint(count) != fmt.Sprint(want) {
		t.Errorf("rows per source type %v, want %v", count, want)
	}
	s := r.Summary(0)
	if s.Files != 5 || s.Records != 39 || !s.Clean() {
		t.Errorf("summary %+v", s)
	}
	var gzRows int
	for _, row := range w.Rows {
		if row.Account == "123456789012" && row.Region == "" {
			continue
		}
		if row.SourceType == flow.SourceTypeAwsVpc && row.Region == "eu-west-3" {
			gzRows++
		}
	}
	// The records carry their own account (123456789012): it wins over the key's.
	if gzRows != 5 {
		t.Errorf("%d rows with the region of the S3 key, want 5", gzRows)
	}
}

// TestBadInputContinues: a file that cannot be detected, a file with bad
// lines and a good file: the bad lines and the bad file are counted, the
// rest is imported.
func TestBadInputContinues(t *testing.T) {
	tmp := t.TempDir()
	good := filepath.Join(tmp, "1-good.log")
	os.WriteFile(good, genAWS(3), 0o644)
	mixed := filepath.Join(tmp, "2-mixed.log")
	os.WriteFile(mixed, append(append(genAWS(2), "2 123456789012 eni-0a 10.0.0.1 10.1.0.1 1 443 6 2 120 1700000000 1700000060 ACCEPT\nnot a flow line at all\n"...), genAWS(1)...), 0o644)
	junk := filepath.Join(tmp, "3-junk.bin")
	os.WriteFile(junk, []byte("\x00\x01garbage"), 0o644)
	var logs bytes.Buffer
	w := &memWriter{}
	r, err := run(t, Options{Writer: w, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, tmp)
	if err != nil {
		t.Fatal(err)
	}
	s := r.Summary(0)
	if len(w.Rows) != 6 || s.Records != 6 || s.Skipped != 2 || s.Errors != 1 || s.Clean() {
		t.Errorf("rows %d, summary %+v", len(w.Rows), s)
	}
	for _, want := range []string{"2-mixed.log pos=3", "2-mixed.log pos=4", "3-junk.bin"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

func TestIdempotentReimport(t *testing.T) {
	tmp := t.TempDir()
	f := filepath.Join(tmp, "flows.log")
	os.WriteFile(f, genAWS(100), 0o644)
	data := filepath.Join(tmp, "data")
	w := &memWriter{}
	if _, err := run(t, Options{Writer: w, DataDir: data, BatchSize: 16, CheckpointRows: 16}, f); err != nil {
		t.Fatal(err)
	}
	r, err := run(t, Options{Writer: w, DataDir: data, BatchSize: 16, CheckpointRows: 16}, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Rows) != 100 || r.Stats.FilesSkipped.Load() != 1 {
		t.Fatalf("%d rows after two imports, want 100 (files skipped %d)", len(w.Rows), r.Stats.FilesSkipped.Load())
	}
	// The file grows (the next lines of the same hour): only the new rows come in.
	fh, _ := os.OpenFile(f, os.O_APPEND|os.O_WRONLY, 0)
	fh.Write(genAWS(130)[len(genAWS(100)):])
	fh.Close()
	if _, err := run(t, Options{Writer: w, DataDir: data, BatchSize: 16, CheckpointRows: 16}, f); err != nil {
		t.Fatal(err)
	}
	if len(w.Rows) != 130 {
		t.Fatalf("%d rows after the file grew, want 130", len(w.Rows))
	}
	assertUnique(t, w.Rows)
	// A different file at the same path (first bytes changed) is imported anew.
	os.WriteFile(f, []byte("2 999999999999 eni-0b 10.9.0.1 10.9.0.2 1 2 17 1 1 1 2 ACCEPT OK\n"), 0o644)
	if _, err := run(t, Options{Writer: w, DataDir: data}, f); err != nil {
		t.Fatal(err)
	}
	if len(w.Rows) != 131 || w.Rows[130].Account != "999999999999" {
		t.Fatalf("%d rows after replacing the file", len(w.Rows))
	}
}

func assertUnique(t *testing.T, rows []flow.Record) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range rows {
		k := fmt.Sprint(r.SrcAddr, r.SrcPort, r.Account)
		if seen[k] {
			t.Fatalf("duplicate row %s", k)
		}
		seen[k] = true
	}
}

func TestPartialImportResumes(t *testing.T) {
	tmp := t.TempDir()
	data := filepath.Join(tmp, "data")
	for _, gz := range []bool{false, true} {
		f := filepath.Join(tmp, fmt.Sprintf("flows-%v.log", gz))
		content := genAWS(100)
		if gz {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			zw.Write(content)
			zw.Close()
			content = b.Bytes()
		}
		os.WriteFile(f, content, 0o644)
		w := &memWriter{failAfter: 3}
		if _, err := run(t, Options{Writer: w, DataDir: data, BatchSize: 16, CheckpointRows: 16}, f); err == nil {
			t.Fatal("the writer failure did not stop the import")
		}
		if len(w.Rows) != 48 {
			t.Fatalf("%d rows before the crash, want 48", len(w.Rows))
		}
		w.failAfter = 0
		r, err := run(t, Options{Writer: w, DataDir: data, BatchSize: 16, CheckpointRows: 16}, f)
		if err != nil {
			t.Fatal(err)
		}
		if len(w.Rows) != 100 || r.Stats.Duplicates.Load() != 48 {
			t.Fatalf("gz=%v: %d rows after resuming, want 100 (duplicates skipped %d)", gz, len(w.Rows), r.Stats.Duplicates.Load())
		}
		assertUnique(t, w.Rows)
	}
}

func TestStdin(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stdin")
	if err != nil {
		t.Fatal(err)
	}
	f.Write(genAWS(4))
	f.Seek(0, 0)
	old := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = old }()
	w := &memWriter{}
	if _, err := run(t, Options{Writer: w, Format: FormatAWSVPC, DataDir: t.TempDir()}, "-"); err != nil {
		t.Fatal(err)
	}
	if len(w.Rows) != 4 {
		t.Errorf("%d rows from stdin, want 4", len(w.Rows))
	}
}

func TestFollow(t *testing.T) {
	tmp := t.TempDir()
	in := filepath.Join(tmp, "in")
	os.MkdirAll(in, 0o755)
	os.WriteFile(filepath.Join(in, "a.log"), genAWS(3), 0o644)
	w := &memWriter{}
	r, err := New(Options{Writer: w, DataDir: filepath.Join(tmp, "data"), Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Follow(ctx, in, 20e6, 0) }()
	waitRows := func(n int) {
		for i := 0; i < 500 && r.Stats.Records.Load() < int64(n); i++ {
			time.Sleep(10 * time.Millisecond)
		}
		if got := r.Stats.Records.Load(); got != int64(n) {
			t.Fatalf("%d rows, want %d", got, n)
		}
	}
	waitRows(3)
	os.WriteFile(filepath.Join(in, "b.log"), genAWS(5), 0o644)
	waitRows(8)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(w.Rows) != 8 {
		t.Errorf("%d rows written", len(w.Rows))
	}
}

func TestJSONLines(t *testing.T) {
	var out bytes.Buffer
	j := jsonl.NewEncoder(&out)
	r, err := New(Options{Writer: j, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Import(context.Background(), []string{filepath.Join(cloud, "aws/otelcontrib-s3-default-with-header.log")}); err != nil {
		t.Fatal(err)
	}
	j.Flush()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], `"src_addr":"172.31.9.69"`) || !strings.Contains(lines[1], `"action":"deny"`) {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestProgressAndSummary(t *testing.T) {
	r, err := New(Options{Writer: &memWriter{}, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	r.Stats.FilesTotal.Store(4)
	r.Stats.Files.Store(1)
	r.Stats.Records.Store(1234)
	r.Stats.BytesRead.Store(100)
	r.Stats.BytesTotal.Store(400)
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Millisecond)
	defer cancel()
	r.Progress(ctx, &out, 10*time.Millisecond)
	if s := out.String(); !strings.Contains(s, "25.0% files 1/4  records 1234") || !strings.Contains(s, "ETA ") {
		t.Errorf("progress output %q", s)
	}
	r.Stats.Skipped.Store(2)
	var js bytes.Buffer
	r.Summary(0).Write(&js, true)
	if js.String() != `{"files":1,"files_already_imported":0,"records":1234,"duplicates_not_written":0,"skipped":2,"errors":0,"seconds":0}`+"\n" {
		t.Errorf("summary %s", js.String())
	}
}

func TestWatchConfig(t *testing.T) {
	c := WatchConfig{Dir: "/tmp/logs"}.WithDefaults(3)
	if err := c.Validate(); err != nil || c.Name != "3" || c.Interval != defaultWatchInterval {
		t.Errorf("defaults: %+v, %v", c, err)
	}
	err := WatchConfig{Format: "aws"}.Validate()
	for _, want := range []string{"dir: is required", `format: "aws"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}
