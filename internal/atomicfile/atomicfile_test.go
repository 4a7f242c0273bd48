package atomicfile

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// entries lists dir's names, to catch stray temporaries.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range des {
		names = append(names, d.Name())
	}
	return names
}

func TestContentVisibleOnlyAfterCommit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Create(path, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("new content")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Fatalf("before commit the path holds %q, want the old content", got)
	}
	names := entries(t, dir)
	if len(names) != 2 || !IsTemp(names[0]) || names[0][:len(".state.json.")] != ".state.json." {
		t.Fatalf("while writing the directory holds %q, want the old file and one hidden temporary", names)
	}
	if f.Size() != int64(len("new content")) {
		t.Fatalf("Size = %d", f.Size())
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "new content" {
		t.Fatalf("after commit the path holds %q", got)
	}
	if names := entries(t, dir); len(names) != 1 || names[0] != "state.json" {
		t.Fatalf("after commit the directory holds %q", names)
	}
	f.Abort() // no-op after Commit
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("Abort after Commit removed the file: %v", err)
	}
	if err := f.Commit(); err == nil {
		t.Fatal("a second Commit succeeded")
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.parquet")
	f, err := Create(path, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("partial"))
	f.Abort()
	if names := entries(t, dir); len(names) != 0 {
		t.Fatalf("after Abort the directory holds %q", names)
	}
}

func TestWriteFailureKeepsOldContentAndNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tables.csv")
	if err := WriteFile(path, []byte("v1"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(path, 0o644, func(w io.Writer) error {
		w.Write(bytes.Repeat([]byte("x"), 1<<16))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the writer's error", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "v1" {
		t.Fatalf("a failed write changed the file to %d bytes", len(got))
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Fatalf("a failed write left %q", names)
	}
}

func TestRenameFailureRemovesTemp(t *testing.T) {
	dir := t.TempDir()
	// A directory at the final path makes the rename fail after the data
	// was written and fsynced.
	path := filepath.Join(dir, "target")
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(path, "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("data"), 0o644); err == nil {
		t.Fatal("renaming over a non-empty directory succeeded")
	}
	if names := entries(t, dir); len(names) != 1 || names[0] != "target" {
		t.Fatalf("a failed rename left %q", names)
	}
}

func TestCreateInMissingDirFails(t *testing.T) {
	if _, err := Create(filepath.Join(t.TempDir(), "no", "such", "f"), 0o644); err == nil {
		t.Fatal("Create in a missing directory succeeded")
	}
}

func TestPermAndUmask(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
}

func TestIsTemp(t *testing.T) {
	for name, want := range map[string]bool{
		".a.parquet.k3j2.tmp": true, ".a.parquet.tmp": true, "a.parquet": false, ".hidden": false, "x.tmp": false,
	} {
		if IsTemp(name) != want {
			t.Errorf("IsTemp(%q) = %v", name, !want)
		}
	}
}
