package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/flowlake/flowlake/internal/ingest"
	"github.com/flowlake/flowlake/internal/store/clickhouse"
)

func init() {
	icfg := ingest.DefaultConfig()
	scfg := clickhouse.DefaultConfig()
	var metricsAddr string
	cmd := &cobra.Command{
		Use:   "ingest --from kafka://BROKER:9092/TOPIC --store clickhouse://HOST:9000/DB",
		Short: "Consume flows from Kafka into ClickHouse (run several in one --group to share the partitions)",
		Long: `Consume the flows "flowlake serve --output kafka://..." publishes and write them
to ClickHouse in large batches. Offsets are committed to Kafka only after
ClickHouse has the batch; a ledger table in ClickHouse (flowlake_ingest_offsets)
keeps a lost commit from writing a batch twice. Tables are created or migrated
at start (see the README's ClickHouse section).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			st, err := clickhouse.Open(ctx, scfg)
			if err != nil {
				return err
			}
			defer st.Close()
			reg := prometheus.NewRegistry()
			in, err := ingest.New(icfg, st, reg)
			if err != nil {
				return err
			}
			if metricsAddr != "" {
				mux := http.NewServeMux()
				mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
				srv := &http.Server{Addr: metricsAddr, Handler: mux}
				go func() {
					if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
						slog.Error("ingest: metrics listener", "err", err)
					}
				}()
				defer srv.Close()
			}
			if err := in.Start(); err != nil {
				return err
			}
			select {
			case <-ctx.Done():
				return in.Stop()
			case err := <-in.Done():
				in.Stop()
				return fmt.Errorf("ingest: %w", err)
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&icfg.From, "from", "", "kafka://BROKER:9092[,BROKER:9092]/TOPIC")
	f.StringVar(&scfg.DSN, "store", "", "clickhouse://[USER[:PASSWORD]@]HOST:9000/DB[?cluster=NAME]")
	f.StringVar(&icfg.Group, "group", icfg.Group, "Kafka consumer group")
	f.IntVar(&icfg.BatchRows, "batch-rows", icfg.BatchRows, "most flows per ClickHouse insert")
	f.DurationVar(&icfg.BatchDelay, "batch-delay", icfg.BatchDelay, "longest a flow waits for its insert")
	f.DurationVar(&scfg.Retention, "retention", 0, "keep flows this long (0: forever); a shorter one than the table has needs --allow-drop")
	f.BoolVar(&scfg.AllowDrop, "allow-drop", false, "let the migration shorten the table's retention (deletes older flows)")
	f.StringVar(&metricsAddr, "metrics", "127.0.0.1:9464", "serve /metrics here (\"\" = off)")
	cmd.MarkFlagRequired("from")
	cmd.MarkFlagRequired("store")
	rootCmd.AddCommand(cmd)
}
