// Package importer runs cloud flow log imports: it walks files, directories
// and stdin, gunzips, detects the format, hands the stream to the format's
// parser (subpackages aws, azure, gcp) and the rows to a flow.Writer, while
// keeping an idempotency state so that a re-import adds nothing and an
// interrupted one resumes.
package importer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/importer/aws"
	"github.com/flowlake/flowlake/internal/importer/azure"
	"github.com/flowlake/flowlake/internal/importer/gcp"
	"github.com/flowlake/flowlake/internal/importer/sink"
)

// Format names accepted by Options.Format.
const (
	FormatAuto      = ""
	FormatAWSVPC    = "aws-vpc"
	FormatAzureVNet = "azure-vnet"
	FormatAzureNSG  = "azure-nsg"
	FormatGCPVPC    = "gcp-vpc"
)

// Formats lists the file formats (vrni is an API import, see package vrni).
var Formats = []string{FormatAWSVPC, FormatAzureVNet, FormatAzureNSG, FormatGCPVPC}

// Options configure a Runner.
type Options struct {
	// Format is one of Formats, or FormatAuto to detect it per file.
	Format string
	// AWSFields is the AWS field order (--fields); nil = header or default.
	AWSFields []string
	// DataDir holds the idempotency state (<DataDir>/import/state.json).
	// Empty disables the state (every run imports everything).
	DataDir string
	// Writer receives the rows.
	Writer flow.Writer
	// Logger reports malformed records and failed files (slog.Default if nil).
	Logger *slog.Logger
	// MaxReports caps the malformed-record messages logged per file (the
	// rest are only counted); 0 means 20.
	MaxReports int
	// Now is the time_received of formats without one (time.Now if zero).
	Now time.Time
	// BatchSize is the number of rows per WriteBatch (sink.DefaultBatchSize if 0).
	BatchSize int
	// CheckpointRows is how many rows are written between saves of the
	// import progress (default 1Mi). Before each save the Writer is flushed
	// if it has a Flush method (the archive), so progress never counts
	// rows that are not durable; a resume redoes at most this many rows'
	// worth of parsing, never duplicates.
	CheckpointRows int
}

// Stats are the running totals of an import; safe to read concurrently.
type Stats struct {
	Files        atomic.Int64 // files (and stdin) read
	FilesTotal   atomic.Int64 // files found so far
	FilesSkipped atomic.Int64 // files already imported, unchanged
	Records      atomic.Int64 // rows written
	Duplicates   atomic.Int64 // rows already imported before, not written again
	Skipped      atomic.Int64 // malformed lines/records/tuples skipped
	Errors       atomic.Int64 // files that could not be read or parsed to the end
	BytesRead    atomic.Int64 // input bytes consumed (compressed size for .gz)
	BytesTotal   atomic.Int64 // size of all files found so far
}

// Runner imports files. One Runner may Import many times (--follow).
type Runner struct {
	opt   Options
	state *State
	log   *slog.Logger
	// Stats are updated while Import runs.
	Stats Stats
}

// New returns a runner, loading the idempotency state.
func New(opt Options) (*Runner, error) {
	if opt.Writer == nil {
		return nil, errors.New("importer: no writer")
	}
	if opt.Format != FormatAuto && !isFormat(opt.Format) {
		return nil, fmt.Errorf("unknown format %q (one of %s)", opt.Format, strings.Join(Formats, ", "))
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.MaxReports == 0 {
		opt.MaxReports = 20
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	r := &Runner{opt: opt, log: opt.Logger}
	if opt.DataDir != "" {
		st, err := LoadState(opt.DataDir)
		if err != nil {
			return nil, err
		}
		r.state = st
	}
	return r, nil
}

func isFormat(f string) bool {
	for _, x := range Formats {
		if x == f {
			return true
		}
	}
	return false
}

// Expand turns the command-line paths into the list of files to read:
// directories are walked recursively (sorted, hidden files left out), "-"
// stays as stdin.
func Expand(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		if p == "-" {
			out = append(out, p)
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, p)
			continue
		}
		var files []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasPrefix(d.Name(), ".") && path != p {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(files)
		out = append(out, files...)
	}
	return out, nil
}

// Import reads every path (files, directories, "-"). A file that fails is
// logged and counted; the others continue. The error is only for failures
// that stop everything (writer or state errors, cancellation).
func (r *Runner) Import(ctx context.Context, paths []string) error {
	files, err := Expand(paths)
	if err != nil {
		return err
	}
	for _, f := range files {
		r.Stats.FilesTotal.Add(1)
		if f != "-" {
			if fi, err := os.Stat(f); err == nil {
				r.Stats.BytesTotal.Add(fi.Size())
			}
		}
	}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := r.importOne(f); err != nil {
			var fatal fatalError
			if errors.As(err, &fatal) {
				return fatal.err
			}
			r.Stats.Errors.Add(1)
			r.log.Error("import failed", "file", f, "err", err)
		}
	}
	return nil
}

// fatalError wraps failures that must stop the run (the output is broken).
type fatalError struct{ err error }

func (f fatalError) Error() string { return f.err.Error() }

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (r *Runner) importOne(path string) error {
	var (
		raw   io.Reader
		key   string
		entry FileState
		skip  int64
	)
	if path == "-" {
		raw = os.Stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			return err
		}
		raw = f
		entry = FileState{Size: fi.Size(), ModTime: fi.ModTime().UnixNano(), HeadLen: min(fi.Size(), headLen)}
		if r.state != nil {
			if abs, err := filepath.Abs(path); err == nil {
				key = abs
			} else {
				key = path
			}
			if entry.HeadHash, err = headHash(path, entry.HeadLen); err != nil {
				return err
			}
			if prev := r.state.get(key); prev != nil && prev.HeadLen <= entry.Size {
				h := entry.HeadHash
				if prev.HeadLen != entry.HeadLen {
					h, err = headHash(path, prev.HeadLen)
					if err != nil {
						return err
					}
				}
				if h == prev.HeadHash {
					if prev.Complete && prev.Size == entry.Size && prev.ModTime == entry.ModTime {
						r.Stats.FilesSkipped.Add(1)
						r.Stats.BytesRead.Add(entry.Size)
						r.log.Debug("already imported", "file", path)
						return nil
					}
					skip = prev.Records
				}
			}
		}
	}
	r.Stats.Files.Add(1)
	br := bufio.NewReaderSize(countingReader{raw, &r.Stats.BytesRead}, 256<<10)
	var in io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		in = bufio.NewReaderSize(zr, 256<<10)
	}
	pk := in.(*bufio.Reader)
	format := r.opt.Format
	head, _ := pk.Peek(8192)
	if format == FormatAuto {
		format = Detect(head)
		if format == "" {
			return errors.New("cannot detect the format (give it on the command line)")
		}
	}
	entry.Format = format

	reports := 0
	var skippedHere int64
	bad := func(pos int64, err error) {
		r.Stats.Skipped.Add(1)
		skippedHere++
		reports++
		if reports <= r.opt.MaxReports {
			r.log.Warn("skipped malformed record", "file", path, "pos", pos, "err", err)
		} else if reports == r.opt.MaxReports+1 {
			r.log.Warn("more malformed records in this file; only counting from now on", "file", path)
		}
	}
	var counted, saved int64
	prevRecords := skip
	tmp := new(flow.Batch)
	idx := make([]int, 0, 64)
	flush := func(b *flow.Batch) error {
		n := int64(b.Len())
		counted += n
		out := b
		if skip >= n {
			skip -= n
			r.Stats.Duplicates.Add(n)
			return nil
		}
		if skip > 0 {
			idx = idx[:0]
			for i := int(skip); i < b.Len(); i++ {
				idx = append(idx, i)
			}
			tmp.Truncate(0)
			tmp.AppendRows(b, idx)
			out = tmp
			r.Stats.Duplicates.Add(skip)
			skip = 0
		}
		if err := r.opt.Writer.WriteBatch(out); err != nil {
			return fatalError{fmt.Errorf("write: %w", err)}
		}
		r.Stats.Records.Add(int64(out.Len()))
		// Progress is saved only for rows the writer made durable, and
		// not after every batch: a durable flush makes a file in the
		// archive.
		if r.state != nil && key != "" && counted > prevRecords && counted-saved >= r.checkpointRows() {
			if err := r.durable(); err != nil {
				return fatalError{err}
			}
			saved = counted
			entry.Records = counted
			r.state.put(key, entry)
			if err := r.state.Save(); err != nil {
				return fatalError{err}
			}
		}
		return nil
	}
	s := sink.New(flush, bad)
	s.Size = r.opt.BatchSize
	if err := r.parse(format, path, pk, s); err != nil {
		return err
	}
	if err := s.Flush(); err != nil {
		return err
	}
	if err := r.durable(); err != nil {
		return fatalError{err}
	}
	if r.state != nil && key != "" {
		entry.Records = max(counted, prevRecords)
		entry.Complete = true
		r.state.put(key, entry)
		if err := r.state.Save(); err != nil {
			return fatalError{err}
		}
	}
	r.log.Debug("imported", "file", path, "format", format, "rows", counted, "skipped", skippedHere)
	return nil
}

func (r *Runner) checkpointRows() int64 {
	if r.opt.CheckpointRows > 0 {
		return int64(r.opt.CheckpointRows)
	}
	return 1 << 20
}

// durable makes what was written so far durable when the writer buffers
// (the archive), before progress that counts on it is saved.
func (r *Runner) durable() error {
	if f, ok := r.opt.Writer.(interface{ Flush() error }); ok {
		if err := f.Flush(); err != nil {
			return fmt.Errorf("flush: %w", err)
		}
	}
	return nil
}

func (r *Runner) parse(format, path string, in *bufio.Reader, s *sink.Sink) error {
	now := r.opt.Now.UnixNano()
	switch format {
	case FormatAWSVPC:
		acct, region := aws.FromPath(path)
		p, err := aws.NewParser(aws.Options{Fields: r.opt.AWSFields, Account: acct, Region: region, Now: now})
		if err != nil {
			return err
		}
		if head, _ := in.Peek(64); len(bytes.TrimLeft(head, " \t\r\n")) > 0 && bytes.TrimLeft(head, " \t\r\n")[0] == '{' {
			return p.ParseCloudWatch(in, s)
		}
		return p.ParseText(in, s)
	case FormatAzureVNet, FormatAzureNSG:
		doc, err := io.ReadAll(in)
		if err != nil {
			return err
		}
		kind := azure.VNet
		if format == FormatAzureNSG {
			kind = azure.NSG
		}
		return azure.NewParser(kind, azure.Options{Now: now}).Parse(doc, s)
	case FormatGCPVPC:
		return gcp.NewParser(gcp.Options{Now: now}).Parse(in, s)
	}
	return fmt.Errorf("unknown format %q", format)
}

// Detect names the format of a file from its first bytes (after gunzip), or
// returns "" when it cannot tell.
func Detect(head []byte) string {
	t := bytes.TrimLeft(head, " \t\r\n\ufeff")
	if len(t) == 0 {
		return ""
	}
	if t[0] == '{' || t[0] == '[' {
		switch {
		case bytes.Contains(t, []byte(`"flowRecords"`)) || bytes.Contains(t, []byte(`"flowLogVersion"`)):
			return FormatAzureVNet
		case bytes.Contains(t, []byte(`"flowTuples"`)) || bytes.Contains(t, []byte(`NETWORKSECURITYGROUPS`)) ||
			bytes.Contains(t, []byte(`"NetworkSecurityGroupFlowEvent"`)):
			return FormatAzureNSG
		case bytes.Contains(t, []byte(`"logEvents"`)):
			return FormatAWSVPC
		case bytes.Contains(t, []byte(`vpc_flows`)) || bytes.Contains(t, []byte(`"jsonPayload"`)):
			return FormatGCPVPC
		}
		return ""
	}
	// Text: an AWS header line, or a record starting with a version number.
	line := t
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	fields := bytes.Fields(line)
	if len(fields) == 0 {
		return ""
	}
	if aws.IsFieldName(string(fields[0])) {
		return FormatAWSVPC
	}
	if len(fields) >= 4 && fields[0][0] >= '0' && fields[0][0] <= '9' {
		return FormatAWSVPC
	}
	return ""
}
