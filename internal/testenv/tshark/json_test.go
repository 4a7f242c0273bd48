package tshark

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRepeatedKeysInOrder(t *testing.T) {
	n, err := Parse(json.NewDecoder(strings.NewReader(`{"a": {"x": "1", "x": "2", "y": [3, {"x": "4"}]}, "b": true}`)))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	n.Walk(func(k, v string) { got = append(got, k+"="+v) })
	if strings.Join(got, " ") != "x=1 x=2 =3 x=4 b=true" {
		t.Errorf("walk: %v", got)
	}
	a, ok := n.Child("a")
	if !ok || !a.Has("x") || a.Has("b") || !n.Has("y") {
		t.Errorf("child/has: %+v", a)
	}
	if _, err := Parse(json.NewDecoder(strings.NewReader(`{"a": `))); err == nil {
		t.Error("truncated JSON accepted")
	}
}
