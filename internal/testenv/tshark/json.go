// Package tshark runs tshark, the decoder tests' oracle, and reads its JSON
// output (`tshark -T json`), which repeats object keys and gives their order
// meaning, so encoding/json's maps cannot hold it.
package tshark

import (
	"encoding/json"
	"fmt"
)

// Node is a JSON value with object members kept in order, repeated keys
// included. Leaves hold their value as text.
type Node struct {
	Key  string
	Val  string
	Kids []Node
	Obj  bool // an object or array (Kids), not a leaf
}

// Parse reads one JSON value from dec.
func Parse(dec *json.Decoder) (Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return Node{}, err
	}
	switch v := tok.(type) {
	case json.Delim:
		n := Node{Obj: true}
		for dec.More() {
			var key string
			if v == '{' {
				kt, err := dec.Token()
				if err != nil {
					return n, err
				}
				key = kt.(string)
			}
			kid, err := Parse(dec)
			if err != nil {
				return n, err
			}
			kid.Key = key
			n.Kids = append(n.Kids, kid)
		}
		_, err := dec.Token() // closing delimiter
		return n, err
	case string:
		return Node{Val: v}, nil
	default:
		return Node{Val: fmt.Sprint(v)}, nil
	}
}

// Child returns the first direct member keyed key.
func (n Node) Child(key string) (Node, bool) {
	for _, k := range n.Kids {
		if k.Key == key {
			return k, true
		}
	}
	return Node{}, false
}

// Has reports whether a member keyed key exists anywhere below n.
func (n Node) Has(key string) bool {
	for _, k := range n.Kids {
		if k.Key == key || (k.Obj && k.Has(key)) {
			return true
		}
	}
	return false
}

// Walk calls fn for every leaf below n, depth first, in document order.
func (n Node) Walk(fn func(key, val string)) {
	for _, k := range n.Kids {
		if k.Obj {
			k.Walk(fn)
			continue
		}
		fn(k.Key, k.Val)
	}
}
