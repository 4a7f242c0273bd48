package tshark

import (
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"testing"

	"github.com/flowlake/flowlake/internal/testenv"
)

// Require skips the test when tshark is missing (fails it under CI=true).
func Require(t testing.TB) {
	t.Helper()
	testenv.LookPath(t, "tshark")
}

// Layers runs tshark over the capture at path and returns, for each packet
// in order, its "layers" object (_source.layers). decodeAs are tshark -d
// rules such as "udp.port==6343,sflow".
func Layers(t testing.TB, path string, decodeAs ...string) []Node {
	t.Helper()
	bin := testenv.LookPath(t, "tshark")
	args := []string{"-r", path, "-T", "json"}
	for _, d := range decodeAs {
		args = append(args, "-d", d)
	}
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %v: %v: %s", args, err, stderr.String())
	}
	root, err := Parse(json.NewDecoder(bytes.NewReader(out)))
	if err != nil && err != io.EOF {
		t.Fatalf("tshark JSON: %v", err)
	}
	layers := make([]Node, len(root.Kids))
	for i, p := range root.Kids {
		src, _ := p.Child("_source")
		layers[i], _ = src.Child("layers")
	}
	return layers
}
