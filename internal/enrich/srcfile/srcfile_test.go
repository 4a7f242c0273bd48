package srcfile

import (
	"encoding/csv"
	"errors"
	"strings"
	"testing"
)

func TestTags(t *testing.T) {
	tags, err := ParseTags(" env = prod ;team=net")
	if err != nil || tags["env"] != "prod" || tags["team"] != "net" || len(tags) != 2 {
		t.Fatalf("%v %v", tags, err)
	}
	if s := TagString(tags); s != "env=prod;team=net" {
		t.Errorf("TagString %q", s)
	}
	if _, err := ParseTags("env"); err == nil {
		t.Error("tag without = accepted")
	}
	if tags, err := ParseTags(""); tags != nil || err != nil || TagString(nil) != "" {
		t.Error("empty tags")
	}
}

func TestCSVError(t *testing.T) {
	_, err := csv.NewReader(strings.NewReader("a,b\n\"x,y\n")).ReadAll()
	var le *LineError
	if e := CSVError("f.csv", err); !errors.As(e, &le) || le.Line != 2 || !strings.HasPrefix(e.Error(), "f.csv:2:") {
		t.Errorf("%v", e)
	}
}
