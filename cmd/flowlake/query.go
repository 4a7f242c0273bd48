package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowlake/flowlake/internal/query"
	"github.com/flowlake/flowlake/internal/store/lake"
)

func init() {
	var (
		dataDir, since, until, format string
		explain                       bool
		maxRows                       int
		timeout                       time.Duration
	)
	cmd := &cobra.Command{
		Use:   "query 'KQL'",
		Short: "Run a KQL-style query over the archive (flows | where ... | summarize ...)",
		Long: `Run a KQL-style query over the archive and print the result.

  flowlake query 'flows | where dst_port == 443 | summarize bytes=sum(bytes) by src_addr | top 10 by bytes'
  flowlake query --since yesterday 'flows | summarize count() by bin(time_received, 1h) | render timechart'
  flowlake query --explain 'NTANetAnalytics | where DestPort == 22'

--since/--until take "last 24 hours", "yesterday", "today", "7d", dates,
ISO times and ranges ("yesterday 00:00 to 00:00", "2026-03-03..2026-03-04").`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := lake.NewReader(lake.ReaderConfig{}, lake.Dependencies{DataDir: dataDir})
			if err != nil {
				return err
			}
			if err := r.Start(); err != nil {
				return err
			}
			defer r.Stop()
			svc := query.New(query.Config{Timeout: timeout, MaxRows: maxRows}, query.Dependencies{Store: r})
			resp, err := svc.Run(cmd.Context(), query.Request{Query: args[0], Since: since, Until: until, Explain: explain})
			if err != nil {
				return err
			}
			if explain {
				fmt.Fprintln(cmd.OutOrStdout(), resp.SQL)
				return nil
			}
			if err := query.Write(cmd.OutOrStdout(), format, resp); err != nil {
				return err
			}
			for _, s := range resp.Skipped {
				fmt.Fprintf(os.Stderr, "skipped unreadable file %s: %s\n", s.Path, s.Reason)
			}
			if resp.Truncated {
				fmt.Fprintf(os.Stderr, "result truncated to %d rows (--max-rows)\n", len(resp.Rows))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dataDir, "data-dir", "./data", "data directory (archive under <data-dir>/flows)")
	f.StringVar(&since, "since", "", `start of the window ("last 24 hours", "yesterday", ISO time, or a range)`)
	f.StringVar(&until, "until", "", "end of the window (default: now, or the end of the period since names)")
	f.StringVar(&format, "format", "table", "table, csv, json or jsonl")
	f.BoolVar(&explain, "explain", false, "print the SQL instead of running it")
	f.IntVar(&maxRows, "max-rows", 10000, "return at most this many rows (0: no limit)")
	f.DurationVar(&timeout, "timeout", 5*time.Minute, "stop the query after this long")
	rootCmd.AddCommand(cmd)
}
