package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowlake/flowlake/internal/archive"
)

func init() {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "archive stats|prune|compact",
		Short: "Inspect and maintain the Parquet archive (<data-dir>/flows)",
		Long: `Inspect and maintain the Parquet archive under <data-dir>/flows.

stats reads the catalog and may run while "flowlake serve" writes. prune and
compact take the archive's lock: while serve runs it compacts and applies its
retention settings itself, and these subcommands refuse to run.`,
	}
	cmd.PersistentFlags().StringVar(&dataDir, "data-dir", "./data", "data directory (archive under <data-dir>/flows)")

	var asJSON, columns bool
	stats := &cobra.Command{
		Use:   "stats [--columns]",
		Short: "Files, flows, bytes, bytes per flow and time span of the archive",
		Long: `Files, flows, bytes, bytes per flow and time span of the archive, from its catalog.

--columns reads every file's footer instead and shows where the bytes go: each
column's compressed size, bytes per flow, share of the archive and compression
ratio (encoded size / compressed size), largest first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if columns {
				return printColumnSizes(cmd, dataDir, asJSON)
			}
			s, err := archive.Stats(dataDir)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if asJSON {
				return printJSON(w, s)
			}
			fmt.Fprintf(w, "files:           %d (%d compacted)\n", s.Files, s.CompactedFiles)
			fmt.Fprintf(w, "flows:           %d\n", s.Rows)
			fmt.Fprintf(w, "bytes:           %d (%s)\n", s.Bytes, humanBytes(s.Bytes))
			fmt.Fprintf(w, "bytes/flow:      %.1f\n", s.BytesPerFlow)
			if s.Files > 0 {
				fmt.Fprintf(w, "time_received:   %s .. %s (%s)\n", s.MinTime.Format(time.RFC3339), s.MaxTime.Format(time.RFC3339),
					s.MaxTime.Sub(s.MinTime).Round(time.Second))
			}
			if s.PendingDeletes > 0 {
				fmt.Fprintf(w, "pending deletes: %d (replaced or pruned, kept for running queries)\n", s.PendingDeletes)
			}
			return nil
		},
	}
	stats.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	stats.Flags().BoolVar(&columns, "columns", false, "bytes by column (reads every file's footer)")

	var retainAge, retainBytes string
	var grace time.Duration
	prune := &cobra.Command{
		Use:   "prune --retain-age 30d | --retain-bytes 500GiB",
		Short: "Delete whole hours older than --retain-age, then the oldest while larger than --retain-bytes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := archive.Config{GraceDelete: cliGrace(grace)}
			var err error
			if retainAge != "" {
				if cfg.RetainAge, err = parseAge(retainAge); err != nil {
					return err
				}
			}
			if retainBytes != "" {
				if cfg.RetainBytes, err = parseBytes(retainBytes); err != nil {
					return err
				}
			}
			if cfg.RetainAge <= 0 && cfg.RetainBytes <= 0 {
				return errors.New("give --retain-age and/or --retain-bytes")
			}
			a, err := openArchive(dataDir, cfg)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			res, err := a.Prune(ctx, time.Now())
			if cerr := a.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "pruned %d hours: %d files, %d flows, %s\n", res.Hours, res.Files, res.Rows, humanBytes(res.Bytes))
			return nil
		},
	}
	prune.Flags().StringVar(&retainAge, "retain-age", "", "keep this much history (Go duration, or Nd for days)")
	prune.Flags().StringVar(&retainBytes, "retain-bytes", "", "keep at most this many bytes (e.g. 500GiB, 2T, 1000000)")
	prune.Flags().DurationVar(&grace, "grace", time.Minute, "keep deleted files this long for running queries (0: delete now)")

	var targetRows, minFiles int
	compact := &cobra.Command{
		Use:   "compact",
		Short: "Merge each hour's small files into large sorted files",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := openArchive(dataDir, archive.Config{GraceDelete: cliGrace(grace), CompactTargetRows: targetRows, CompactMinFiles: minFiles})
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			start := time.Now()
			res, err := a.Compact(ctx)
			if cerr := a.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "compacted %d files into %d: %d flows, %s -> %s in %s\n",
				res.FilesIn, res.FilesOut, res.Rows, humanBytes(res.BytesIn), humanBytes(res.BytesOut), time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	compact.Flags().IntVar(&targetRows, "target-rows", 0, "flows per compacted file (default 1048576)")
	compact.Flags().IntVar(&minFiles, "min-files", 0, "small files an hour still being written needs before it is compacted (default 8); 1 compacts every hour now, as if past")
	compact.Flags().DurationVar(&grace, "grace", time.Minute, "keep replaced files this long for running queries (0: delete now)")

	cmd.AddCommand(stats, prune, compact)
	rootCmd.AddCommand(cmd)
}

func openArchive(dataDir string, cfg archive.Config) (*archive.Archive, error) {
	a, err := archive.Open(dataDir, cfg, archive.Dependencies{})
	if errors.Is(err, archive.ErrLocked) {
		return nil, fmt.Errorf("%w: while flowlake serve runs it compacts and prunes by itself", err)
	}
	return a, err
}

// cliGrace maps the --grace flag onto Config.GraceDelete, where 0 means
// the default and a negative value "at once".
func cliGrace(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}

// parseAge accepts Go durations plus a day suffix ("30d", "1.5d").
func parseAge(s string) (time.Duration, error) {
	if v, ok := strings.CutSuffix(s, "d"); ok {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 {
			return 0, fmt.Errorf("--retain-age %q: want e.g. 30d or 720h", s)
		}
		return time.Duration(f * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("--retain-age %q: want e.g. 30d or 720h", s)
	}
	return d, nil
}

// parseBytes accepts a byte count with an optional K/M/G/T suffix (powers
// of 1024; "GB", "GiB" and "G" all mean 2^30).
func parseBytes(s string) (int64, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	u = strings.TrimSuffix(strings.TrimSuffix(u, "B"), "I")
	mult := int64(1)
	if n := len(u); n > 0 {
		if i := strings.IndexByte("KMGTP", u[n-1]); i >= 0 {
			mult = 1 << (10 * (i + 1))
			u = u[:n-1]
		}
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(u), 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("--retain-bytes %q: want e.g. 500GiB, 2T or 1000000", s)
	}
	return int64(f * float64(mult)), nil
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

func printColumnSizes(cmd *cobra.Command, dataDir string, asJSON bool) error {
	r, err := archive.ColumnSizes(dataDir)
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if asJSON {
		return printJSON(w, r)
	}
	fmt.Fprintf(w, "%d files, %d flows, %s", r.Files, r.Rows, humanBytes(r.Bytes))
	if r.Unreadable > 0 {
		fmt.Fprintf(w, " (%d unreadable files left out)", r.Unreadable)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%-24s %12s %10s %7s %7s\n", "column", "bytes", "bytes/flow", "share", "ratio")
	share := func(b int64) float64 {
		if r.Bytes == 0 {
			return 0
		}
		return 100 * float64(b) / float64(r.Bytes)
	}
	for _, c := range r.Columns {
		ratio := 0.0
		if c.Bytes > 0 {
			ratio = float64(c.Uncompressed) / float64(c.Bytes)
		}
		fmt.Fprintf(w, "%-24s %12d %10.3f %6.1f%% %7.1f\n", c.Name, c.Bytes, c.BytesPerFlow, share(c.Bytes), ratio)
	}
	perFlow := 0.0
	if r.Rows > 0 {
		perFlow = float64(r.Footers) / float64(r.Rows)
	}
	fmt.Fprintf(w, "%-24s %12d %10.3f %6.1f%%\n", "(footers, indexes)", r.Footers, perFlow, share(r.Footers))
	return nil
}

func printJSON(w io.Writer, v any) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(v)
}
