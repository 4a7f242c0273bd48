package clickhouse

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/flowlake/flowlake/internal/archive"
	"github.com/flowlake/flowlake/internal/flow"
)

// LakeCopyTable records which lake files a copy has written, so that an
// interrupted `flowlake archive migrate` resumes after the last file done.
const LakeCopyTable = "flowlake_lake_copy"

// CopyProgress is where a lake copy stands.
type CopyProgress struct {
	Files, FilesTotal, FilesSkipped int
	Flows, FlowsTotal               int64
	Started                         time.Time
}

// copyChunk bounds one INSERT of a large compacted file.
const copyChunk = 1 << 20

// CopyLake copies every file of the Parquet lake under dataDir into the
// flows table, file by file, recording each in LakeCopyTable after its
// rows are in: a second run skips what the first finished. A run killed
// between a file's insert and its record writes that one file again
// (on servers with insert_deduplication_token the server drops the
// repeat). The lake must not change meanwhile (serve stopped, or a copy
// of the directory): a file gone since the catalog was read is an error.
func (s *Store) CopyLake(ctx context.Context, dataDir string, progress func(CopyProgress)) (CopyProgress, error) {
	cat, err := archive.ReadCatalog(dataDir)
	if err != nil {
		return CopyProgress{}, fmt.Errorf("archive migrate: read lake %s: %w", dataDir, err)
	}
	files := cat.Files(time.Time{}, time.Time{})
	create := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s (file String, flows UInt64, copied_at DateTime) ENGINE = MergeTree() ORDER BY file",
		quoteIdent(s.dsn.Database), quoteIdent(LakeCopyTable))
	if err := s.c.exec(ctx, "archive migrate: create copy log", create); err != nil {
		return CopyProgress{}, err
	}
	done, err := s.c.strings1(ctx, fmt.Sprintf("SELECT file FROM %s.%s", quoteIdent(s.dsn.Database), quoteIdent(LakeCopyTable)))
	if err != nil {
		return CopyProgress{}, &Error{s.c.server, "archive migrate: read copy log", err}
	}
	copied := map[string]bool{}
	for _, f := range done {
		copied[f] = true
	}
	p := CopyProgress{FilesTotal: len(files), Started: time.Now()}
	for _, f := range files {
		p.FlowsTotal += f.Rows
	}
	flowsDir := filepath.Join(dataDir, "flows")
	b := &flow.Batch{}
	part := &flow.Batch{}
	for _, f := range files {
		rel, err := filepath.Rel(flowsDir, f.Path)
		if err != nil {
			rel = f.Path
		}
		rel = filepath.ToSlash(rel)
		if copied[rel] {
			p.FilesSkipped++
			p.Flows += f.Rows
			continue
		}
		if err := ctx.Err(); err != nil {
			return p, err
		}
		b.Truncate(0)
		if err := archive.ReadFile(f.Path, b); err != nil {
			if os.IsNotExist(err) {
				return p, fmt.Errorf("archive migrate: %s is gone (the lake changed while copying: stop serve, then run again; it resumes)", f.Path)
			}
			return p, fmt.Errorf("archive migrate: read %s: %w", f.Path, err)
		}
		for at := 0; at < b.Len(); at += copyChunk {
			end := min(at+copyChunk, b.Len())
			part.Truncate(0)
			idx := make([]int, 0, end-at)
			for i := at; i < end; i++ {
				idx = append(idx, i)
			}
			part.AppendRows(b, idx)
			token := fmt.Sprintf("flowlake/lake/%s/%d", rel, at)
			if err := s.Insert(ctx, part, token); err != nil {
				return p, fmt.Errorf("archive migrate: %s: %w", rel, err)
			}
		}
		rec := fmt.Sprintf("INSERT INTO %s.%s (file, flows, copied_at) SELECT '%s', %d, now()",
			quoteIdent(s.dsn.Database), quoteIdent(LakeCopyTable), escape(rel), b.Len())
		if err := s.c.exec(ctx, "archive migrate: record "+rel, rec); err != nil {
			return p, err
		}
		p.Files++
		p.Flows += int64(b.Len())
		if progress != nil {
			progress(p)
		}
	}
	return p, nil
}
