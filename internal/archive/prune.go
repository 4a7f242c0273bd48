package archive

import (
	"context"
	"path"
	"time"
)

// PruneResult says what retention removed.
type PruneResult struct {
	Hours int
	Files int
	Rows  int64
	Bytes int64
}

// Prune applies retention at instant now: whole hours that ended more than
// RetainAge before now go, then the oldest hours go while the lake is
// larger than RetainBytes. Removed files leave the catalog at once and the
// disk after GraceDelete.
func (a *Archive) Prune(ctx context.Context, now time.Time) (PruneResult, error) {
	a.maintMu.Lock()
	defer a.maintMu.Unlock()
	var res PruneResult
	if a.cfg.RetainAge <= 0 && a.cfg.RetainBytes <= 0 {
		return res, nil
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	type hour struct {
		end   time.Time
		files []FileInfo
		bytes int64
	}
	var hours []*hour
	byDir := map[string]*hour{}
	var total int64
	for _, f := range a.Catalog().files { // sorted by MinTime: oldest hours first
		dir := path.Dir(f.rel)
		h := byDir[dir]
		if h == nil {
			h = &hour{end: time.Unix(0, (hourOf(f.MinTime.UnixNano())+1)*int64(time.Hour))}
			byDir[dir] = h
			hours = append(hours, h)
		}
		h.files = append(h.files, f)
		h.bytes += f.Bytes
		total += f.Bytes
	}
	var remove []FileInfo
	for _, h := range hours {
		old := a.cfg.RetainAge > 0 && !h.end.After(now.Add(-a.cfg.RetainAge))
		big := a.cfg.RetainBytes > 0 && total > a.cfg.RetainBytes
		if !old && !big {
			break
		}
		res.Hours++
		for _, f := range h.files {
			res.Files++
			res.Rows += f.Rows
			res.Bytes += f.Bytes
		}
		total -= h.bytes
		remove = append(remove, h.files...)
	}
	if len(remove) > 0 {
		a.addFiles(nil, remove)
		a.m.pruned.Add(float64(len(remove)))
	}
	return res, nil
}
