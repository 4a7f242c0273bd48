package inventory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/flowlake/flowlake/internal/enrich/srcfile"
)

// LoadFile reads an inventory file: JSON (.json: an array of objects with
// addr, name, host, cluster, datacenter, tags) or CSV (a header row naming
// the same columns; tags as k=v;k=v).
func LoadFile(path string) ([]Entry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("inventory file: %w", err)
	}
	if strings.EqualFold(filepath.Ext(path), ".json") {
		return parseJSON(path, data)
	}
	return parseCSV(path, data)
}

type jsonEntry struct {
	Addr       string            `json:"addr"`
	Name       string            `json:"name"`
	Host       string            `json:"host"`
	Cluster    string            `json:"cluster"`
	Datacenter string            `json:"datacenter"`
	Tags       map[string]string `json:"tags"`
}

func lineAt(data []byte, off int64) int {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	return 1 + bytes.Count(data[:off], []byte{'\n'})
}

func parseJSON(path string, data []byte) ([]Entry, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, srcfile.At(path, lineAt(data, dec.InputOffset()), err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, srcfile.At(path, lineAt(data, dec.InputOffset()), errors.New("want a JSON array of entries"))
	}
	var out []Entry
	for dec.More() {
		start := dec.InputOffset()
		var je jsonEntry
		if err := dec.Decode(&je); err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				// The decoder counts the offset from where this value began.
				return nil, srcfile.At(path, lineAt(data, start+se.Offset-1), err)
			}
			return nil, srcfile.At(path, lineAt(data, dec.InputOffset()), err)
		}
		// InputOffset before Decode points at the separator; skip blanks to
		// name the line the object starts on.
		for start < int64(len(data)) && strings.ContainsRune(", \t\r\n", rune(data[start])) {
			start++
		}
		a, err := netip.ParseAddr(strings.TrimSpace(je.Addr))
		if err != nil {
			return nil, srcfile.At(path, lineAt(data, start), fmt.Errorf("bad addr: %w", err))
		}
		out = append(out, Entry{Addr: a, Name: je.Name, Host: je.Host, Cluster: je.Cluster, Datacenter: je.Datacenter, Tags: srcfile.TagString(je.Tags)})
	}
	if _, err := dec.Token(); err != nil {
		return nil, srcfile.At(path, lineAt(data, dec.InputOffset()), err)
	}
	return out, nil
}

func parseCSV(path string, data []byte) ([]Entry, error) {
	var out []Entry
	err := srcfile.ReadCSV(path, data, "addr", "addr,name,host,cluster,datacenter,tags", nil, func(line int, get func(string) string) error {
		a, err := netip.ParseAddr(get("addr"))
		if err != nil {
			return srcfile.At(path, line, fmt.Errorf("bad addr: %w", err))
		}
		tags, err := srcfile.ParseTags(get("tags"))
		if err != nil {
			return srcfile.At(path, line, err)
		}
		out = append(out, Entry{Addr: a, Name: get("name"), Host: get("host"), Cluster: get("cluster"), Datacenter: get("datacenter"), Tags: srcfile.TagString(tags)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
