package main

import (
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/flowlake/flowlake/internal/app"
	"github.com/flowlake/flowlake/internal/config"
)

func init() {
	var (
		cfgPath, dataDir, httpAddr, jsonl string
		udp, tcp                          []string
		noArchive                         bool
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Collect NetFlow/IPFIX/sFlow, enrich, archive, and serve the API and metrics",
		Long: `Collect flows on UDP (NetFlow v5/v9, IPFIX and sFlow v5 on any port) and
IPFIX over TCP, enrich them, and archive them under the data directory.

Configuration comes from the YAML file given with --config, then FLOWLAKE_*
environment variables (FLOWLAKE_DATA_DIR, FLOWLAKE_HTTP_LISTEN,
FLOWLAKE_COLLECTOR_UDP=":2055,:6343", ...), then these flags.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cfgPath, os.Environ())
			if err != nil {
				return err
			}
			f := cmd.Flags()
			if f.Changed("data-dir") {
				cfg.DataDir = dataDir
			}
			if f.Changed("http") {
				cfg.HTTP.Listen = httpAddr
			}
			if f.Changed("udp") {
				cfg.Collector.UDP = udp
			}
			if f.Changed("tcp") {
				cfg.Collector.TCP = tcp
			}
			if f.Changed("jsonl") {
				cfg.Output.JSONL = jsonl
			}
			if noArchive {
				cfg.Archive.Enabled = false
			}
			log := newLogger(cfg)
			slog.SetDefault(log)
			a, err := app.New(cfg, app.Dependencies{Logger: log})
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if err := a.Start(); err != nil {
				return err
			}
			log.Info("flowlake started", "version", version, "data_dir", cfg.DataDir)
			var failed error
			select {
			case <-ctx.Done():
			case failed = <-a.Failed():
				log.Error("stopping after a component failed", "err", failed)
			}
			return errors.Join(failed, a.Stop())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&cfgPath, "config", "c", "", "YAML configuration file")
	f.StringVar(&dataDir, "data-dir", "./data", "data directory (archive, templates, state)")
	f.StringVar(&httpAddr, "http", "127.0.0.1:8080", "HTTP listen address for API, UI and /metrics (empty: off)")
	f.StringSliceVar(&udp, "udp", nil, "UDP listen addresses (default :2055,:4739,:6343)")
	f.StringSliceVar(&tcp, "tcp", nil, "IPFIX over TCP listen addresses (default :4739)")
	f.StringVar(&jsonl, "jsonl", "", "also write every flow as JSON lines to FILE (- for stdout)")
	f.BoolVar(&noArchive, "no-archive", false, "do not archive flows (JSON lines output only)")
	rootCmd.AddCommand(cmd)
}

func newLogger(cfg config.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
