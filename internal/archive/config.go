package archive

import (
	"errors"
	"fmt"
	"math/bits"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config tunes the archive (YAML section archive). DefaultConfig holds
// every default; a zero field also reads as its default (setDefaults), so
// the CLI and tests can set only what they change. The fields without a
// YAML key are tuning knobs of the CLI and tests.
type Config struct {
	// Enabled is read by the application: when false it builds no archive
	// writer (JSON lines output only; queries still read the lake).
	Enabled bool `yaml:"enabled"`
	// FlushInterval is how often buffered flows are written: the most a
	// crash can lose.
	FlushInterval time.Duration `yaml:"flush_interval"`
	// FlushRows flushes early when this many flows are buffered. The
	// default, half the compaction target, halves the memory between
	// flushes against 1 Mi rows: measured 22 % less ingest CPU and 1.5
	// instead of 2.2 GB peak RSS at 150 k flows/s.
	FlushRows int `yaml:"flush_rows"`
	// Buckets is the most buckets an hour's flows are spread over by their
	// address pair when flows arrive fast (PairBucket; rounded down to a
	// power of two; 1: none).
	Buckets int `yaml:"buckets"`
	// RetainAge deletes hours older than this (0: keep forever).
	RetainAge time.Duration `yaml:"retain_age"`
	// RetainBytes deletes the oldest hours while the lake is larger (0: no limit).
	RetainBytes int64 `yaml:"retain_bytes"`

	// CompactMinFiles is how many small files an hour that is still being
	// written needs before they are compacted; a past hour's small flush
	// files are compacted (sorted, full statistics) even alone. 1 compacts
	// every hour as if it were past (flowlake archive compact --min-files
	// 1).
	CompactMinFiles int `yaml:"-"`
	// CompactTargetRows is the size of a compacted file. Compaction holds
	// that many flows in memory (about 0.5 KB each).
	CompactTargetRows int `yaml:"-"`
	// GraceDelete is how long files replaced by compaction or pruned stay on
	// disk so that running queries finish (negative: delete at once).
	GraceDelete time.Duration `yaml:"-"`
	// RowGroupRows is the number of rows per Parquet row group: the unit
	// of pruning by statistics. A needle query reads the row group of its
	// pair in each file of its bucket, so smaller row groups make it
	// cheaper (32 Ki rows instead of 128 Ki halved a needle's DuckDB time
	// on 9 files); but every row group adds a footer entry for each of the
	// 70 columns, which a process parses before it reads anything: on 100
	// M flows `count(*)` in a new process took 0.62-0.72 s with 32 Ki rows,
	// 0.31-0.38 s with 64 Ki, 0.21-0.25 s with 128 Ki
	// (internal/archive/README.md).
	RowGroupRows int `yaml:"-"`
	// BucketRows is the fewest flows a flush file of one bucket should
	// hold: after each flush the next flush's bucket count is the largest
	// power of two, at most Buckets, that the flush's flows fill to this
	// size, so a slow exporter's hours are not cut into tiny files.
	BucketRows int `yaml:"-"`
	// MaxBufferedRows bounds the flows held in memory while writing fails
	// (0: 2*FlushRows); beyond it flows are dropped and counted.
	MaxBufferedRows int `yaml:"-"`
}

// DefaultConfig is the archive of `flowlake serve`.
func DefaultConfig() Config {
	return Config{
		Enabled:           true,
		FlushInterval:     5 * time.Second,
		FlushRows:         512 << 10,
		Buckets:           16,
		CompactMinFiles:   8,
		CompactTargetRows: 1 << 20,
		GraceDelete:       time.Minute,
		RowGroupRows:      64 << 10,
		BucketRows:        32 << 10,
	}
}

// Validate checks every setting; errors name the key.
func (c Config) Validate() error {
	var errs []error
	neg := func(key string, bad bool) {
		if bad {
			errs = append(errs, fmt.Errorf("%s: must not be negative", key))
		}
	}
	neg("flush_interval", c.FlushInterval < 0)
	neg("flush_rows", c.FlushRows < 0)
	neg("buckets", c.Buckets < 0)
	neg("retain_age", c.RetainAge < 0)
	neg("retain_bytes", c.RetainBytes < 0)
	neg("compact_min_files", c.CompactMinFiles < 0)
	neg("compact_target_rows", c.CompactTargetRows < 0)
	neg("row_group_rows", c.RowGroupRows < 0)
	neg("bucket_rows", c.BucketRows < 0)
	neg("max_buffered_rows", c.MaxBufferedRows < 0)
	return errors.Join(errs...)
}

// setDefaults fills zero fields from DefaultConfig.
func (c *Config) setDefaults() {
	d := DefaultConfig()
	if c.FlushInterval <= 0 {
		c.FlushInterval = d.FlushInterval
	}
	if c.FlushRows <= 0 {
		c.FlushRows = d.FlushRows
	}
	if c.CompactMinFiles <= 0 {
		c.CompactMinFiles = d.CompactMinFiles
	}
	if c.CompactTargetRows <= 0 {
		c.CompactTargetRows = d.CompactTargetRows
	}
	if c.GraceDelete == 0 {
		c.GraceDelete = d.GraceDelete
	}
	if c.RowGroupRows <= 0 {
		c.RowGroupRows = d.RowGroupRows
	}
	if c.Buckets <= 0 {
		c.Buckets = d.Buckets
	}
	c.Buckets = 1 << (bits.Len(uint(c.Buckets)) - 1) // a power of two
	if c.BucketRows <= 0 {
		c.BucketRows = d.BucketRows
	}
	if c.MaxBufferedRows <= 0 {
		c.MaxBufferedRows = 2 * c.FlushRows
	}
}

// Dependencies are what an Archive needs besides its Config.
type Dependencies struct {
	// Registerer receives the flowlake_archive_* metrics (default
	// prometheus.DefaultRegisterer). Metrics already registered there by
	// another Archive are shared.
	Registerer prometheus.Registerer
}
