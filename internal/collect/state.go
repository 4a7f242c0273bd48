package collect

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/flowlake/flowlake/internal/atomicfile"
)

// SaveFile writes what write produces to path atomically (temp file, fsync,
// rename), so a crash leaves either the old state or the new one.
func SaveFile(path string, write func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := atomicfile.Write(path, 0o600, write); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	return nil
}

// LoadFile feeds path to read; a missing file is not an error (first start).
func LoadFile(path string, read func(io.Reader) error) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load %s: %w", path, err)
	}
	defer f.Close()
	if err := read(f); err != nil {
		return fmt.Errorf("load %s: %w", path, err)
	}
	return nil
}
