package archive

import (
	"cmp"
	"fmt"
	"log/slog"
	"slices"
)

// ColumnSize is the disk space one column takes across the lake.
type ColumnSize struct {
	Name string
	// Bytes is the column chunks' compressed size (pages and dictionary
	// pages with their headers), as the files' footers record it.
	Bytes int64
	// Uncompressed is the same before compression (after encoding).
	Uncompressed int64
	// BytesPerFlow is Bytes divided by the flows of the files read.
	BytesPerFlow float64
}

// ColumnSizesResult is where the lake's bytes go, by column.
type ColumnSizesResult struct {
	// Columns, largest first.
	Columns []ColumnSize
	// Footers is what is not column data: footers (schema, row group and
	// column chunk metadata, statistics) and the files' magic numbers.
	Footers int64
	// Files counts the files read, Rows their flows; Bytes is their size on
	// disk.
	Files int
	Rows  int64
	Bytes int64
	// Unreadable counts catalogued files whose footer could not be read
	// (left out of every figure above).
	Unreadable int
}

// ColumnSizes reads the footer of every catalogued file (no column data)
// and sums each column's size: which fields a lake's bytes per flow come
// from. Like Stats it may run while serve writes; a file replaced
// meanwhile is counted as unreadable.
func ColumnSizes(dataDir string) (ColumnSizesResult, error) {
	c, err := ReadCatalog(dataDir)
	if err != nil {
		return ColumnSizesResult{}, err
	}
	var r ColumnSizesResult
	byName := map[string]*ColumnSize{}
	for _, fi := range c.files {
		sizes, rows, size, err := fileColumnSizes(fi.Path)
		if err != nil {
			slog.Warn("archive: column sizes: skipping file", "path", fi.Path, "err", err)
			r.Unreadable++
			continue
		}
		for _, cs := range sizes {
			t := byName[cs.Name]
			if t == nil {
				t = &ColumnSize{Name: cs.Name}
				byName[cs.Name] = t
			}
			t.Bytes += cs.Bytes
			t.Uncompressed += cs.Uncompressed
		}
		r.Files++
		r.Rows += rows
		r.Bytes += size
	}
	var cols int64
	for _, cs := range byName {
		if r.Rows > 0 {
			cs.BytesPerFlow = float64(cs.Bytes) / float64(r.Rows)
		}
		cols += cs.Bytes
		r.Columns = append(r.Columns, *cs)
	}
	slices.SortFunc(r.Columns, func(a, b ColumnSize) int {
		return cmp.Or(cmp.Compare(b.Bytes, a.Bytes), cmp.Compare(a.Name, b.Name))
	})
	r.Footers = r.Bytes - cols
	return r, nil
}

// fileColumnSizes returns one file's column sizes (summed over its row
// groups), flows (rows and the reverse flows paired with them) and size on
// disk.
func fileColumnSizes(path string) ([]ColumnSize, int64, int64, error) {
	f, pf, err := openParquet(path, false)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, 0, err
	}
	md := pf.Metadata()
	var sizes []ColumnSize
	for _, rg := range md.RowGroups {
		if len(rg.Columns) != len(md.RowGroups[0].Columns) {
			return nil, 0, 0, fmt.Errorf("%s: row groups with different column counts", path)
		}
		for i, cc := range rg.Columns {
			if len(cc.MetaData.PathInSchema) != 1 {
				return nil, 0, 0, fmt.Errorf("%s: nested column %v", path, cc.MetaData.PathInSchema)
			}
			if i == len(sizes) {
				sizes = append(sizes, ColumnSize{Name: cc.MetaData.PathInSchema[0]})
			}
			sizes[i].Bytes += cc.MetaData.TotalCompressedSize
			sizes[i].Uncompressed += cc.MetaData.TotalUncompressedSize
		}
	}
	flows, err := fileFlows(pf)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	return sizes, flows, st.Size(), nil
}
