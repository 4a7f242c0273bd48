// Package atomicfile writes files so that a reader, or the process after a
// crash, sees either the previous content or the whole new content, never a
// partial file: the data goes to a hidden temporary file in the same
// directory, is fsynced, renamed over the final path, and the directory is
// fsynced so the rename itself survives a power loss.
//
// Temporary names are "." + base + "." + random + ".tmp": hidden, never ending
// in the final name's extension (so a reader globbing *.parquet or *.json
// skips them), and recognisable by IsTemp for clean-up after a crash.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// File is a file being written under a temporary name. Nothing is visible at
// the final path until Commit; Abort (or a failed Commit) removes the
// temporary file.
type File struct {
	f     *os.File
	path  string
	tmp   string
	size  int64
	ended bool
}

// Create opens a temporary file beside path. The file gets perm (less the
// umask) like os.WriteFile's. The directory must exist.
func Create(path string, perm fs.FileMode) (*File, error) {
	dir, base := filepath.Split(path)
	for range 100 {
		tmp := filepath.Join(dir, "."+base+"."+strconv.FormatUint(rand.Uint64()&0xffffffffff, 36)+".tmp")
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("create %s: %w", path, err)
		}
		return &File{f: f, path: path, tmp: tmp}, nil
	}
	return nil, fmt.Errorf("create %s: no free temporary name", path)
}

// Write writes to the temporary file.
func (f *File) Write(p []byte) (int, error) {
	n, err := f.f.Write(p)
	f.size += int64(n)
	return n, err
}

// Size is the number of bytes written so far.
func (f *File) Size() int64 { return f.size }

// Path is the final path.
func (f *File) Path() string { return f.path }

// Commit fsyncs the temporary file, renames it to the final path and fsyncs
// the directory. On error the temporary file is removed and the final path
// keeps what it had.
func (f *File) Commit() error {
	if f.ended {
		return fmt.Errorf("commit %s: already committed or aborted", f.path)
	}
	f.ended = true
	err := f.f.Sync()
	if err != nil {
		err = fmt.Errorf("fsync %s: %w", f.tmp, err)
	}
	if cerr := f.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", f.tmp, cerr)
	}
	if err == nil {
		if rerr := os.Rename(f.tmp, f.path); rerr != nil {
			err = fmt.Errorf("rename %s: %w", f.tmp, rerr)
		}
	}
	if err != nil {
		os.Remove(f.tmp)
		return err
	}
	return SyncDir(filepath.Dir(f.path))
}

// Abort discards the temporary file. It does nothing after Commit, so
// `defer f.Abort()` is the usual clean-up.
func (f *File) Abort() {
	if f.ended {
		return
	}
	f.ended = true
	f.f.Close()
	os.Remove(f.tmp)
}

// Write creates path with what write produces, atomically.
func Write(path string, perm fs.FileMode, write func(io.Writer) error) error {
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := write(f); err != nil {
		return err
	}
	return f.Commit()
}

// WriteFile is os.WriteFile, atomically.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// SyncDir fsyncs a directory, making the entries added to or renamed in it
// durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync dir %s: %w", dir, err)
	}
	return nil
}

// IsTemp tells whether name (a base name) is a temporary file Create makes,
// for sweeping what an interrupted writer left behind.
func IsTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".tmp")
}
