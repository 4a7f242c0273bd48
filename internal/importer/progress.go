package importer

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Progress draws a one-line progress bar (files, records, rate, ETA) on w
// every interval until ctx ends. Only for terminals: callers check IsTerminal.
func (r *Runner) Progress(ctx context.Context, w io.Writer, interval time.Duration) {
	start := time.Now()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fmt.Fprint(w, "\r\033[K")
			return
		case <-t.C:
		}
		el := time.Since(start).Seconds()
		recs := r.Stats.Records.Load() + r.Stats.Duplicates.Load()
		rate := float64(recs) / el
		eta := "?"
		if done, total := r.Stats.BytesRead.Load(), r.Stats.BytesTotal.Load(); done > 0 && total >= done {
			eta = time.Duration(float64(total-done) / (float64(done) / el) * 1e9).Round(time.Second).String()
			pct := 100 * float64(done) / float64(max(total, 1))
			fmt.Fprintf(w, "\r\033[K%5.1f%% files %d/%d  records %d  %.0f rec/s  skipped %d  ETA %s",
				pct, r.Stats.Files.Load()+r.Stats.FilesSkipped.Load(), r.Stats.FilesTotal.Load(), recs, rate, r.Stats.Skipped.Load(), eta)
			continue
		}
		fmt.Fprintf(w, "\r\033[Kfiles %d  records %d  %.0f rec/s  skipped %d",
			r.Stats.Files.Load(), recs, rate, r.Stats.Skipped.Load())
	}
}

// IsTerminal reports whether f is a character device (a terminal).
func IsTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Summary is the end-of-run report.
type Summary struct {
	Files        int64   `json:"files"`
	FilesSkipped int64   `json:"files_already_imported"`
	Records      int64   `json:"records"`
	Duplicates   int64   `json:"duplicates_not_written"`
	Skipped      int64   `json:"skipped"`
	Errors       int64   `json:"errors"`
	Seconds      float64 `json:"seconds"`
}

// Summary returns the totals so far.
func (r *Runner) Summary(elapsed time.Duration) Summary {
	return Summary{
		Files: r.Stats.Files.Load(), FilesSkipped: r.Stats.FilesSkipped.Load(),
		Records: r.Stats.Records.Load(), Duplicates: r.Stats.Duplicates.Load(),
		Skipped: r.Stats.Skipped.Load(), Errors: r.Stats.Errors.Load(),
		Seconds: elapsed.Seconds(),
	}
}

// Clean reports whether nothing was skipped and no file failed.
func (s Summary) Clean() bool { return s.Skipped == 0 && s.Errors == 0 }

// Write prints the summary: one JSON object when machine-readable, else a
// sentence.
func (s Summary) Write(w io.Writer, machine bool) error {
	if machine {
		b, err := json.Marshal(s)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintf(w, "imported %d records from %d files in %.1fs (%d files already imported, %d duplicate rows not rewritten); skipped %d malformed records; %d files failed\n",
		s.Records, s.Files, s.Seconds, s.FilesSkipped, s.Duplicates, s.Skipped, s.Errors)
	return err
}

// Follow imports the files under dir, then keeps polling it every interval
// for new or grown files until ctx ends. Files modified in the last settle
// period are left for the next round so that half-written files are not
// read.
func (r *Runner) Follow(ctx context.Context, dir string, interval, settle time.Duration) error {
	if r.state == nil {
		return fmt.Errorf("--follow needs a data dir for its state")
	}
	for {
		files, err := Expand([]string{dir})
		if err != nil {
			return err
		}
		sort.Strings(files)
		var ready []string
		now := time.Now()
		for _, f := range files {
			fi, err := os.Stat(f)
			if err != nil || now.Sub(fi.ModTime()) < settle {
				continue
			}
			abs, _ := filepath.Abs(f)
			if prev := r.state.get(abs); prev != nil && prev.Complete && prev.Size == fi.Size() && prev.ModTime == fi.ModTime().UnixNano() {
				continue
			}
			ready = append(ready, f)
		}
		if len(ready) > 0 {
			if err := r.Import(ctx, ready); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}
