package archive

import "time"

// StatsResult summarises the lake. (The brief named both this type and the
// function Stats; Go allows only one, so the type carries the suffix.)
type StatsResult struct {
	Files          int
	CompactedFiles int
	Rows           int64
	Bytes          int64
	// BytesPerFlow is Bytes/Rows (0 for an empty lake).
	BytesPerFlow float64
	// MinTime and MaxTime bound time_received over the whole lake.
	MinTime, MaxTime time.Time
	// PendingDeletes counts replaced or pruned files still on disk in
	// their grace period.
	PendingDeletes int
}

// Stats summarises the lake under dataDir from its catalog. Like
// ReadCatalog it may be called from another process while serve writes.
func Stats(dataDir string) (StatsResult, error) {
	c, err := ReadCatalog(dataDir)
	if err != nil {
		return StatsResult{}, err
	}
	var s StatsResult
	s.PendingDeletes = len(c.deletes)
	for i, f := range c.files {
		s.Files++
		if f.Compacted {
			s.CompactedFiles++
		}
		s.Rows += f.Rows
		s.Bytes += f.Bytes
		if i == 0 || f.MinTime.Before(s.MinTime) {
			s.MinTime = f.MinTime
		}
		if i == 0 || f.MaxTime.After(s.MaxTime) {
			s.MaxTime = f.MaxTime
		}
	}
	if s.Rows > 0 {
		s.BytesPerFlow = float64(s.Bytes) / float64(s.Rows)
	}
	return s, nil
}
