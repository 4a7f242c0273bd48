// Package testenv decides what a test does when a real program it needs
// (tshark, softflowd, snmpd, ...) is missing: skip on a developer's machine,
// fail in CI (CI=true), where scripts/deps.sh must have installed it.
package testenv

import (
	"os"
	"os/exec"
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
