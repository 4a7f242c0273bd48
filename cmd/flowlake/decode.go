package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/flowlake/flowlake/internal/collect"
	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/netflow"
	"github.com/flowlake/flowlake/internal/output/jsonl"
	"github.com/flowlake/flowlake/internal/pcapfile"
	"github.com/flowlake/flowlake/internal/sflow"
)

func init() {
	var format, columns string
	cmd := &cobra.Command{
		Use:   "decode FILE.pcap...",
		Short: "Decode the NetFlow/IPFIX/sFlow datagrams of a capture and print the flows (for debugging exporters)",
		Long: `Decode every UDP datagram of pcap captures as flowlake's collector would,
keeping template state across datagrams and files, and print the flows as a
table or as JSON lines (--format jsonl). Malformed datagrams are reported on
stderr with their number and skipped; the exit status is 2 when any was.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			nf, err := netflow.New(netflow.Config{})
			if err != nil {
				return err
			}
			sf, err := sflow.New(sflow.Config{})
			if err != nil {
				return err
			}
			mux := &collect.Mux{NetFlow: nf, SFlow: sf}
			out := bufio.NewWriter(cmd.OutOrStdout())
			defer out.Flush()
			var p printer
			switch format {
			case "jsonl", "json":
				p = jsonl.NewEncoder(out)
			case "table":
				p = newTablePrinter(out, strings.Split(columns, ","))
			default:
				return fmt.Errorf("--format %q: want table or jsonl", format)
			}
			var d flow.Decoded
			bad, total := 0, 0
			for _, path := range args {
				dgrams, err := pcapfile.ReadFile(path)
				if err != nil {
					return err
				}
				for i, dg := range dgrams {
					d.Reset()
					total++
					if err := mux.Decode(dg.Payload, dg.Src, dg.Time, &d); err != nil {
						bad++
						fmt.Fprintf(os.Stderr, "%s: datagram %d: %v\n", path, i+1, err)
					}
					if err := p.WriteBatch(&d.Flows); err != nil {
						return err
					}
				}
			}
			if err := p.Flush(); err != nil {
				return err
			}
			out.Flush()
			fmt.Fprintf(os.Stderr, "%d datagrams, %d rejected\n", total, bad)
			if bad > 0 {
				os.Exit(2)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table or jsonl")
	cmd.Flags().StringVar(&columns, "columns", "time_start,source_type,exporter_addr,src_addr,src_port,dst_addr,dst_port,proto,packets,bytes,sampling_rate,in_if,out_if", "table columns (schema names)")
	rootCmd.AddCommand(cmd)
}

type printer interface {
	flow.Writer
	Flush() error
}

// tablePrinter prints chosen columns aligned; it goes through each row's JSON
// form so that every column prints as the JSON output shows it.
type tablePrinter struct {
	tw     *tabwriter.Writer
	cols   []string
	header bool
	buf    []byte
}

func newTablePrinter(w *bufio.Writer, cols []string) *tablePrinter {
	return &tablePrinter{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0), cols: cols}
}

func (t *tablePrinter) WriteBatch(b *flow.Batch) error {
	if !t.header {
		fmt.Fprintln(t.tw, strings.ToUpper(strings.Join(t.cols, "\t")))
		t.header = true
	}
	for i := 0; i < b.Len(); i++ {
		t.buf = b.AppendJSON(t.buf[:0], i)
		var m map[string]any
		if err := json.Unmarshal(t.buf, &m); err != nil {
			return err
		}
		for j, c := range t.cols {
			if j > 0 {
				fmt.Fprint(t.tw, "\t")
			}
			if v, ok := m[c]; ok {
				fmt.Fprint(t.tw, v)
			} else {
				fmt.Fprint(t.tw, "-")
			}
		}
		fmt.Fprintln(t.tw)
	}
	return nil
}

func (t *tablePrinter) Flush() error { return t.tw.Flush() }
