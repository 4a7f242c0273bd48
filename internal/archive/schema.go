package archive

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"github.com/parquet-go/parquet-go/encoding"

	"github.com/flowlake/flowlake/internal/flow/schema"
)

// parquetNode builds the Parquet node of the layout the schema gives a
// column (schema.Column.Parquet, where the choices are explained).
func parquetNode(c schema.Column) (parquet.Node, error) {
	p := c.Parquet()
	switch p.Kind {
	case schema.ParquetUint:
		return parquet.Uint(p.Bits), nil
	case schema.ParquetTimestampMillis:
		return parquet.Timestamp(parquet.Millisecond), nil
	case schema.ParquetFixed:
		return parquet.Leaf(parquet.FixedLenByteArrayType(p.Len)), nil
	case schema.ParquetString:
		return parquet.String(), nil
	}
	return nil, fmt.Errorf("archive: column %s: no Parquet mapping for type %v", c.Name, c.Type)
}

// flushEncoding is the encoding of each column in every file (nil: PLAIN).
func flushEncoding(c schema.Column) encoding.Encoding {
	switch c.Parquet().Encoding {
	case schema.DeltaBinaryPacked:
		return &parquet.DeltaBinaryPacked
	case schema.RLEDictionary:
		return &parquet.RLEDictionary
	}
	return nil
}

// flowSchema is the Parquet schema of the lake, built from schema.Columns
// in their order.
var flowSchema = buildSchema(flushEncoding, nil)

// lakeSchemaKey is schemaKey(flowSchema): the columns of every file this
// build writes.
var lakeSchemaKey = schemaKey(flowSchema)

// schemaKey fingerprints a file's columns: their order, names, physical
// and logical types, not their encodings or codecs. Files with one key read
// as one table column by column; readers must match columns by name only
// across files with different keys (DuckDB's union_by_name costs a
// quarter of a full scan's time on 170 files).
func schemaKey(s *parquet.Schema) string {
	h := sha256.New()
	for _, f := range s.Fields() {
		t := f.Type()
		lt := ""
		if l := t.LogicalType(); l != nil {
			lt = l.String()
		}
		fmt.Fprintf(h, "%s\x00%v\x00%d\x00%s\x00%t\x00%t\x00%t\n", f.Name(), t.Kind(), t.Length(), lt, f.Optional(), f.Repeated(), f.Leaf())
	}
	return "c1:" + hex.EncodeToString(h.Sum(nil)[:8])
}

// buildSchema returns the lake's schema with the encodings enc chooses and
// the per-column codecs comp chooses (nil, or a nil codec: the writer's).
func buildSchema(enc func(schema.Column) encoding.Encoding, comp func(schema.Column) compress.Codec) *parquet.Schema {
	return parquet.NewSchema("flow", schemaGroup(enc, comp))
}

// buildPairedSchema is buildSchema with the pair columns after the
// schema's (compacted files).
func buildPairedSchema(enc func(schema.Column) encoding.Encoding, comp func(schema.Column) compress.Codec) *parquet.Schema {
	g := schemaGroup(enc, comp)
	for k, n := range pairNodes() {
		g.fields = append(g.fields, &orderedField{Node: n, name: pairColumnNames[k]})
	}
	return parquet.NewSchema("flow", g)
}

func schemaGroup(enc func(schema.Column) encoding.Encoding, comp func(schema.Column) compress.Codec) *orderedGroup {
	g := &orderedGroup{}
	for _, c := range schema.Columns {
		n, err := parquetNode(c)
		if err != nil {
			panic(err)
		}
		if e := enc(c); e != nil {
			n = parquet.Encoded(n, e)
		}
		if comp != nil {
			if cc := comp(c); cc != nil {
				n = parquet.Compressed(n, cc)
			}
		}
		g.fields = append(g.fields, &orderedField{Node: n, name: c.Name})
	}
	return g
}

// orderedGroup is a Parquet group whose fields keep the schema's column
// order; parquet.Group is a map and would sort them by name, which makes
// `SELECT *` in any tool list columns alphabetically instead of in the
// documented order.
type orderedGroup struct{ fields []parquet.Field }

func (g *orderedGroup) ID() int                           { return 0 }
func (g *orderedGroup) String() string                    { return "group" }
func (g *orderedGroup) Type() parquet.Type                { return parquet.Group{}.Type() }
func (g *orderedGroup) Optional() bool                    { return false }
func (g *orderedGroup) Repeated() bool                    { return false }
func (g *orderedGroup) Required() bool                    { return true }
func (g *orderedGroup) Leaf() bool                        { return false }
func (g *orderedGroup) Fields() []parquet.Field           { return g.fields }
func (g *orderedGroup) Encoding() encoding.Encoding       { return nil }
func (g *orderedGroup) Compression() compress.Codec       { return nil }
func (g *orderedGroup) GoType() reflect.Type              { return reflect.TypeFor[map[string]any]() }
func (f *orderedField) Name() string                      { return f.name }
func (f *orderedField) Value(reflect.Value) reflect.Value { return reflect.Value{} }

type orderedField struct {
	parquet.Node
	name string
}
