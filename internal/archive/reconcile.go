package archive

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// reconcile makes the catalog match the disk: temporaries of a crashed
// writer are removed, files the catalog misses are added from their
// footers, missing ones dropped, unreadable ones reported and skipped, and
// the sources of a compaction or split that finished writing but not
// cataloguing are retired.
func (a *Archive) reconcile() error {
	cat, err := loadCatalog(a.flowsDir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		cat = &Catalog{flowsDir: a.flowsDir}
	case err != nil:
		slog.Warn("archive: catalog unreadable; rebuilding it from Parquet footers", "dir", a.flowsDir, "err", err)
		cat = &Catalog{flowsDir: a.flowsDir}
	}
	names, temps, err := scanFiles(a.flowsDir)
	if err != nil {
		return fmt.Errorf("archive: scan %s: %w", a.flowsDir, err)
	}
	for _, t := range temps {
		p := filepath.Join(a.flowsDir, filepath.FromSlash(t))
		slog.Info("archive: removing partial file left by an interrupted write", "path", p)
		os.Remove(p)
	}
	onDisk := map[string]bool{}
	for _, n := range names {
		onDisk[n] = true
	}
	inCat := map[string]bool{}
	kept := cat.files[:0]
	for _, f := range cat.files {
		if onDisk[f.rel] {
			kept = append(kept, f)
			inCat[f.rel] = true
		} else {
			slog.Warn("archive: catalog lists a file that is gone; dropping it", "path", f.Path)
		}
	}
	cat.files = kept
	pendingDel := map[string]bool{}
	for _, d := range cat.deletes {
		pendingDel[d.Rel] = true
	}
	replaced := map[string]bool{}
	pieces := map[string][]splitPiece{}
	found := map[string]FileInfo{}
	added := 0
	for _, rel := range names {
		if inCat[rel] || pendingDel[rel] {
			continue
		}
		fi, ft, err := statFile(a.flowsDir, rel)
		if err != nil {
			a.m.corrupt.Inc()
			slog.Error("archive: skipping unreadable Parquet file", "path", filepath.Join(a.flowsDir, rel), "err", err)
			continue
		}
		if noteReplaced(rel, ft, replaced, pieces) {
			found[rel] = fi // added once its split is settled
			continue
		}
		cat.files = append(cat.files, fi)
		inCat[rel] = true
		added++
	}
	done, drop := settleSplits(pieces, onDisk)
	for _, ps := range pieces {
		for _, p := range ps {
			if drop[p.rel] {
				slog.Warn("archive: dropping a piece of a split cut short; the file split still holds its flows", "path", found[p.rel].Path)
				cat.deletes = append(cat.deletes, pendingDelete{Rel: p.rel})
				continue
			}
			cat.files = append(cat.files, found[p.rel])
			inCat[p.rel] = true
			added++
		}
	}
	for s := range done {
		replaced[s] = true
	}
	if len(replaced) > 0 {
		// A compaction finished writing but the catalog was not updated:
		// its sources must go, or their rows would count twice.
		kept := cat.files[:0]
		for _, f := range cat.files {
			if replaced[f.rel] {
				cat.deletes = append(cat.deletes, pendingDelete{Rel: f.rel})
				continue
			}
			kept = append(kept, f)
		}
		cat.files = kept
	}
	if added > 0 {
		slog.Info("archive: added files missing from the catalog (from their footers)", "dir", a.flowsDir, "files", added)
	}
	cat.sort()
	a.cat = cat
	a.m.setSize(cat)
	return cat.save()
}
