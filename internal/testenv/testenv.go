// Package testenv decides what a test does when a real program it needs
// (tshark, softflowd, snmpd, ...) is missing: skip on a developer's machine,
// fail in CI (CI=true), where scripts/deps.sh must have installed it.
package testenv

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// InCI reports whether the tests run under CI=true, where nothing may skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// LookPath returns the path of the program name, looking in the sbin
// directories too (Debian installs daemons there). When it is missing the
// test is skipped, or fails under CI.
func LookPath(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := dir + "/" + name
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	Require(t, name+" is not installed (scripts/deps.sh installs it)")
	return ""
}

// Require skips the test with reason, or fails it under CI.
func Require(t testing.TB, reason string) {
	t.Helper()
	if InCI() {
		t.Fatalf("required in CI: %s", reason)
	}
	t.Skip(reason)
}

// Root is the module's root directory (the one holding go.mod), found from
// the test's working directory, its package's.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testenv: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Testdata is the path of elem under the repository's testdata directory.
func Testdata(t testing.TB, elem ...string) string {
	t.Helper()
	return filepath.Join(append([]string{Root(t), "testdata"}, elem...)...)
}

var builds sync.Map // package path -> *build

type build struct {
	once sync.Once
	path string
	err  error
}

// Build compiles the main package pkg (a path from the module root, such as
// "./cmd/flowlake" or "./bench/cmd/gen") once per test process and returns
// the binary's path. Binaries go to one directory per module checkout,
// replaced by rename, so concurrent test processes never run a half-written
// one and repeated runs leave no new files behind.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	v, _ := builds.LoadOrStore(pkg, &build{})
	b := v.(*build)
	root := Root(t)
	b.once.Do(func() {
		sum := sha256.Sum256([]byte(root))
		dir := filepath.Join(os.TempDir(), "flowlake-testbin-"+hex.EncodeToString(sum[:6]))
		if b.err = os.MkdirAll(dir, 0o755); b.err != nil {
			return
		}
		b.path = filepath.Join(dir, filepath.Base(pkg))
		tmp := b.path + "." + strconv.Itoa(os.Getpid()) + ".tmp"
		cmd := exec.Command("go", "build", "-o", tmp, pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build %s: %v: %s", pkg, err, out)
			os.Remove(tmp)
			return
		}
		b.err = os.Rename(tmp, b.path)
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// WriteFile writes body to a file named name in a new temporary directory
// of t's and returns its path.
func WriteFile(t testing.TB, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
