package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowlake/flowlake/internal/archive"
	"github.com/flowlake/flowlake/internal/config"
	"github.com/flowlake/flowlake/internal/enrich"
	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/importer"
	"github.com/flowlake/flowlake/internal/importer/vrni"
	"github.com/flowlake/flowlake/internal/output/jsonl"
)

// importExitSkipped is the exit status of an import that finished but
// skipped malformed records or failed on some files.
const importExitSkipped = 2

func init() {
	var (
		out, dataDir, fields, follow, cfgPath string
		interval                              time.Duration
		vr                                    vrniFlags
	)
	cmd := &cobra.Command{
		Use:   "import [format] PATH... | import vrni --url URL --user USER",
		Short: "Import cloud flow logs (aws-vpc, azure-vnet, azure-nsg, gcp-vpc) from files, directories, .gz or - (stdin)",
		Long: `Import cloud flow logs into flowlake.

The format (aws-vpc, azure-vnet, azure-nsg, gcp-vpc) may be left out: it is
detected per file. Directories are read recursively, gzip is detected from the
content, "-" reads stdin. What was imported is remembered under
<data-dir>/import/state.json: importing a file again adds nothing, an
interrupted import resumes. Exit status: 0 all imported, 2 some records or
files were skipped (each is logged with file and line/record number), 1 fatal.`,
		Args: cobra.MinimumNArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 && args[0] == "vrni" {
				return runVRNIImport(cmd, vr, out, dataDir, cfgPath)
			}
			format := importer.FormatAuto
			if len(args) > 0 && isImportFormat(args[0]) {
				format, args = args[0], args[1:]
			}
			if len(args) == 0 && follow == "" {
				return fmt.Errorf("no input: give PATH... or --follow DIR")
			}
			var awsFields []string
			if fields != "" {
				awsFields = strings.Fields(strings.ReplaceAll(fields, ",", " "))
			}
			w, closeOut, err := importWriter(out, dataDir, cfgPath)
			if err != nil {
				return err
			}
			r, err := importer.New(importer.Options{Format: format, AWSFields: awsFields, DataDir: dataDir, Writer: w, CheckpointRows: importCheckpointRows})
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			term := importer.IsTerminal(os.Stderr)
			start := time.Now()
			pctx, pstop := context.WithCancel(ctx)
			done := make(chan struct{})
			if term {
				go func() { r.Progress(pctx, os.Stderr, 200*time.Millisecond); close(done) }()
			} else {
				close(done)
			}
			if len(args) > 0 {
				err = r.Import(ctx, args)
			}
			if err == nil && follow != "" {
				err = r.Follow(ctx, follow, interval, time.Second)
			}
			pstop()
			<-done
			if cerr := closeOut(); err == nil {
				err = cerr
			}
			sum := r.Summary(time.Since(start))
			_ = sum.Write(os.Stderr, !term)
			if err != nil {
				return err
			}
			if !sum.Clean() {
				os.Exit(importExitSkipped)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write the imported flows as JSON lines to FILE (- = stdout) instead of the archive")
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "", "YAML configuration (enrichment sources, retention), as for serve")
	cmd.Flags().StringVar(&dataDir, "data-dir", "./data", "data directory (import state under <data-dir>/import)")
	cmd.Flags().StringVar(&fields, "fields", "", "AWS field order for custom formats without a header line (space or comma separated)")
	cmd.Flags().StringVar(&follow, "follow", "", "keep watching DIR for new or grown files")
	cmd.Flags().DurationVar(&interval, "interval", 10*time.Second, "poll interval of --follow")
	cmd.Flags().StringVar(&vr.url, "url", "", "vrni: platform URL (https://host)")
	cmd.Flags().StringVar(&vr.user, "user", "", "vrni: user name")
	cmd.Flags().StringVar(&vr.passwordEnv, "password-env", "FLOWLAKE_VRNI_PASSWORD", "vrni: environment variable holding the password")
	cmd.Flags().StringVar(&vr.domain, "domain", "LOCAL", "vrni: LOCAL or LDAP")
	cmd.Flags().StringVar(&vr.domainValue, "ldap-domain", "", "vrni: LDAP domain name")
	cmd.Flags().StringVar(&vr.since, "since", "last 24 hours", `vrni: window ("last N hours|days", "yesterday", "today", RFC 3339 time)`)
	cmd.Flags().StringVar(&vr.filter, "filter", "", "vrni: search filter (vRNI search syntax)")
	cmd.Flags().BoolVar(&vr.insecure, "insecure-skip-verify", false, "vrni: do not verify the TLS certificate (self-signed platforms)")
	rootCmd.AddCommand(cmd)
}

type vrniFlags struct {
	url, user, passwordEnv, domain, domainValue, since, filter string
	insecure                                                   bool
}

func runVRNIImport(cmd *cobra.Command, f vrniFlags, out, dataDir, cfgPath string) error {
	if f.url == "" || f.user == "" {
		return fmt.Errorf("vrni: --url and --user are required")
	}
	hc := &http.Client{Timeout: 5 * time.Minute}
	if f.insecure {
		hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // opt-in for self-signed vRNI
	}
	c := &vrni.Client{BaseURL: f.url, Username: f.user, Password: os.Getenv(f.passwordEnv), Domain: f.domain, DomainValue: f.domainValue, HTTP: hc}
	w, closeOut, err := importWriter(out, dataDir, cfgPath)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
	defer stop()
	skipped := 0
	st, err := c.Run(ctx, f.filter, f.since, dataDir, time.Now(), w, func(pos int64, err error) {
		skipped++
		slog.Warn("skipped vrni flow", "pos", pos, "err", err)
	})
	if cerr := closeOut(); err == nil {
		err = cerr
	}
	fmt.Fprintf(os.Stderr, `{"pages":%d,"records":%d,"skipped":%d,"retries":%d}`+"\n", st.Pages, st.Flows, st.Skipped, st.Retries)
	if err != nil {
		return err
	}
	if skipped > 0 {
		os.Exit(importExitSkipped)
	}
	return nil
}

func isImportFormat(s string) bool {
	for _, f := range importer.Formats {
		if f == s {
			return true
		}
	}
	return false
}

// importWriter is where imported rows go: enriched into the archive of
// dataDir, or as JSON lines to a file or stdout ("-") when out is set.
func importWriter(out, dataDir, cfgPath string) (flow.Writer, func() error, error) {
	if out != "" {
		return jsonlWriter(out)
	}
	cfg, err := config.Load(cfgPath, os.Environ())
	if err != nil {
		return nil, nil, err
	}
	e, err := enrich.New(cfg.Enrich, enrich.Dependencies{})
	if err != nil {
		return nil, nil, fmt.Errorf("enrich: %w", err)
	}
	// Files are reloaded and vCenter/SNMP polled during the import.
	if err := e.Start(); err != nil {
		return nil, nil, fmt.Errorf("enrich: %w", err)
	}
	// The importer decides when rows become durable (before it saves its
	// progress), so the archive's own flush triggers are set out of reach.
	a, err := archive.Open(dataDir, archive.Config{FlushInterval: 24 * time.Hour, FlushRows: 2 * importCheckpointRows,
		RetainAge: cfg.Archive.RetainAge, RetainBytes: cfg.Archive.RetainBytes}, archive.Dependencies{})
	if err != nil {
		_ = e.Stop()
		if errors.Is(err, archive.ErrLocked) {
			return nil, nil, fmt.Errorf("%w: stop flowlake serve, or let it import with its import settings", err)
		}
		return nil, nil, err
	}
	return e.Writer(a), func() error { return errors.Join(a.Close(), e.Stop()) }, nil
}

// importCheckpointRows is how many rows an import buffers between durable
// checkpoints (about 0.5 KB each in memory).
const importCheckpointRows = 256 << 10

func jsonlWriter(out string) (flow.Writer, func() error, error) {
	f := os.Stdout
	if out != "-" {
		var err error
		// Append: with the idempotency state, a re-run adds only new rows.
		if f, err = os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err != nil {
			return nil, nil, err
		}
	}
	j := jsonl.NewEncoder(f)
	return j, func() error {
		err := j.Flush()
		if f != os.Stdout {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		return err
	}, nil
}
