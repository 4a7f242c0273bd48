package archive

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowlake/flowlake/internal/flow"
)

const (
	crashChildEnv   = "FLOWLAKE_ARCHIVE_CRASH_CHILD"
	crashBatch      = 2000
	crashMaxBatches = 400
)

// TestCrashChild is the writer that TestCrashKill runs in a child process
// and SIGKILLs; on its own it does nothing.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("only runs as TestCrashKill's child")
	}
	a, err := Open(dir, Config{FlushInterval: 30 * time.Millisecond, GraceDelete: -1, CompactMinFiles: 4,
		CompactTargetRows: 8 * crashBatch}, Dependencies{Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	g := newFlowGen(11, time.Now().Add(-2*time.Hour).Truncate(time.Hour), 100)
	b := new(flow.Batch)
	var sent uint64
	for i := range crashMaxBatches {
		b.Truncate(0)
		g.fill(b, crashBatch)
		for j := range b.Len() {
			b.Packets[j] = sent + uint64(j) // the flow's id
		}
		if err := a.WriteBatch(b); err != nil {
			t.Fatal(err)
		}
		sent += crashBatch
		fmt.Printf("SENT %d\n", sent)
		if i%10 == 9 {
			go a.Compact(context.Background()) // let kills land in compactions too
		}
		// Pace like a collector whose flushes keep up: the next batch
		// comes once all but the last one are on disk, so at most two
		// batches (one flush interval's worth) are ever unwritten.
		for {
			c, err := ReadCatalog(dir)
			if err != nil {
				t.Fatal(err)
			}
			var rows int64
			for _, f := range c.Files(time.Time{}, time.Time{}) {
				rows += f.Rows
			}
			if uint64(rows) >= sent-crashBatch {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
}

// TestCrashKill SIGKILLs a writer mid-ingest (in a flush, a compaction or
// between them) and checks that every visible .parquet file is readable,
// no flow appears twice, and at most the last two batches are lost.
func TestCrashKill(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for round := range 3 {
		dir := t.TempDir()
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := 20 + rng.IntN(60)
		sc := bufio.NewScanner(out)
		var sent uint64
		lines := 0
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "SENT "); ok {
				sent, _ = strconv.ParseUint(v, 10, 64)
				if lines++; lines == killAfter {
					cmd.Process.Signal(syscall.SIGKILL)
				}
			}
		}
		cmd.Wait()
		if lines < killAfter {
			t.Fatalf("round %d: child stopped after %d batches before the kill", round, lines)
		}

		// Every visible file is complete: read them all from the disk,
		// as another tool globbing *.parquet would.
		flowsDir := filepath.Join(dir, "flows")
		names, _, err := scanFiles(flowsDir)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if err := readFile(filepath.Join(flowsDir, n), new(flow.Batch)); err != nil {
				t.Fatalf("round %d: visible file unreadable after SIGKILL: %v", round, err)
			}
		}
		// Reopen (as serve would after the crash) and check the rows.
		a, err := Open(dir, testConfig(), Dependencies{Registerer: prometheus.NewRegistry()})
		if err != nil {
			t.Fatal(err)
		}
		a.Close()
		got := readAll(t, catalogFiles(t, dir))
		ids := slices.Clone(got.Packets)
		slices.Sort(ids)
		for i, id := range ids {
			if id != uint64(i) {
				t.Fatalf("round %d: flow ids not 0..%d without gaps or duplicates: position %d holds %d", round, len(ids)-1, i, id)
			}
		}
		lost := sent - uint64(len(ids))
		t.Logf("round %d: killed after %d batches; sent %d, kept %d, lost %d; %d files", round, killAfter, sent, len(ids), lost, len(names))
		if lost > 2*crashBatch {
			t.Fatalf("round %d: lost %d flows, more than the two unwritten batches (%d)", round, lost, 2*crashBatch)
		}
	}
}
