package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowlake/flowlake/internal/importer"
	"github.com/flowlake/flowlake/internal/store/clickhouse"
)

// archive migrate is registered on the archive command (archive.go's init
// runs first: files' init functions run in file name order).
func init() {
	var dataDir string
	scfg := clickhouse.DefaultConfig()
	cmd := &cobra.Command{
		Use:   "migrate --to clickhouse://HOST:9000/DB",
		Short: "Copy the Parquet lake into ClickHouse (resumable: a second run copies what the first did not)",
		Long: `Copy every flow of the lake under <data-dir>/flows into ClickHouse's flows table,
file by file. Each file copied is recorded in ClickHouse (flowlake_lake_copy), so
an interrupted run resumes where it stopped. Run it while serve is stopped (or
on a copy of the data directory): the lake must not change during the copy.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			st, err := clickhouse.Open(ctx, scfg)
			if err != nil {
				return err
			}
			defer st.Close()
			w := cmd.ErrOrStderr()
			tty := importer.IsTerminal(os.Stderr)
			last := time.Time{}
			p, err := st.CopyLake(ctx, dataDir, func(p clickhouse.CopyProgress) {
				if !tty || time.Since(last) < 200*time.Millisecond && p.Files+p.FilesSkipped < p.FilesTotal {
					return
				}
				last = time.Now()
				fmt.Fprintf(w, "\r\033[K%s", progressLine(p))
			})
			if tty {
				fmt.Fprint(w, "\r\033[K")
			}
			fmt.Fprintln(cmd.OutOrStdout(), progressLine(p))
			return err
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "./data", "data directory (archive under <data-dir>/flows)")
	cmd.Flags().StringVar(&scfg.DSN, "to", "", "clickhouse://[USER[:PASSWORD]@]HOST:9000/DB[?cluster=NAME]")
	cmd.Flags().DurationVar(&scfg.Retention, "retention", 0, "table retention (0: forever)")
	cmd.MarkFlagRequired("to")
	for _, c := range rootCmd.Commands() {
		if c.Name() == "archive" {
			c.AddCommand(cmd)
			return
		}
	}
	panic("archive migrate: no archive command")
}

func progressLine(p clickhouse.CopyProgress) string {
	el := time.Since(p.Started).Seconds()
	copied := p.Flows
	pct := 100 * float64(copied) / float64(max(p.FlowsTotal, 1))
	rate := float64(p.Flows) / max(el, 0.001)
	eta := "?"
	if rate > 0 && p.FlowsTotal >= copied {
		eta = time.Duration(float64(p.FlowsTotal-copied) / rate * 1e9).Round(time.Second).String()
	}
	return fmt.Sprintf("%5.1f%%  files %d/%d (%d already copied)  flows %d/%d  %.0f flows/s  ETA %s",
		pct, p.Files+p.FilesSkipped, p.FilesTotal, p.FilesSkipped, copied, p.FlowsTotal, rate, eta)
}
