package ingest

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/flowlake/flowlake/internal/flow"
	"github.com/flowlake/flowlake/internal/flow/schema"
)

// The Kafka message is one flow, protobuf-encoded: one field per schema
// column, field number = the column's index in schema.Columns + 1 (the
// schema only appends columns, so numbers never move), zero values left
// out. Times are int64 nanoseconds, addresses 16 bytes (4 accepted),
// enums their index, MACs uint64, strings UTF-8.
//
// This is the consuming side's copy of the encoding; it moves to the
// shared codec (the schema's field numbers and the Kafka output's encoder)
// once those land on main.

// FieldNumber is the protobuf field number of schema column c.
func FieldNumber(c int) protowire.Number { return protowire.Number(c + 1) }

// AppendFlow encodes row i of b.
func AppendFlow(dst []byte, b *flow.Batch, i int) []byte {
	for c, col := range schema.Columns {
		n := FieldNumber(c)
		switch v := b.Column(c).(type) {
		case []uint8:
			if v[i] != 0 {
				dst = protowire.AppendTag(dst, n, protowire.VarintType)
				dst = protowire.AppendVarint(dst, uint64(v[i]))
			}
		case []uint16:
			if v[i] != 0 {
				dst = protowire.AppendTag(dst, n, protowire.VarintType)
				dst = protowire.AppendVarint(dst, uint64(v[i]))
			}
		case []uint32:
			if v[i] != 0 {
				dst = protowire.AppendTag(dst, n, protowire.VarintType)
				dst = protowire.AppendVarint(dst, uint64(v[i]))
			}
		case []uint64:
			if v[i] != 0 {
				dst = protowire.AppendTag(dst, n, protowire.VarintType)
				dst = protowire.AppendVarint(dst, v[i])
			}
		case []int64:
			if v[i] != 0 {
				dst = protowire.AppendTag(dst, n, protowire.VarintType)
				dst = protowire.AppendVarint(dst, uint64(v[i]))
			}
		case []flow.Addr:
			if !v[i].IsZero() {
				dst = protowire.AppendTag(dst, n, protowire.BytesType)
				dst = protowire.AppendBytes(dst, v[i][:])
			}
		case []string:
			if v[i] != "" {
				dst = protowire.AppendTag(dst, n, protowire.BytesType)
				dst = protowire.AppendString(dst, v[i])
			}
		default:
			panic("ingest: no encoding for column " + col.Name)
		}
	}
	return dst
}

// DecodeFlow appends the flow in msg to b. A malformed message leaves b as
// it was. Unknown field numbers (columns of a newer flowlake) are skipped.
func DecodeFlow(msg []byte, b *flow.Batch) error {
	row := b.Extend(1)
	if err := decodeInto(msg, b, row); err != nil {
		b.Truncate(row)
		return err
	}
	return nil
}

func decodeInto(msg []byte, b *flow.Batch, row int) error {
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			return fmt.Errorf("bad tag: %w", protowire.ParseError(n))
		}
		msg = msg[n:]
		c := int(num) - 1
		if c < 0 || c >= len(schema.Columns) {
			n = protowire.ConsumeFieldValue(num, typ, msg)
			if n < 0 {
				return fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
			}
			msg = msg[n:]
			continue
		}
		col := schema.Columns[c]
		switch typ {
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(msg)
			if n < 0 {
				return fmt.Errorf("%s: %w", col.Name, protowire.ParseError(n))
			}
			msg = msg[n:]
			if err := setVarint(b, c, row, v); err != nil {
				return err
			}
		case protowire.BytesType:
			v, n := protowire.ConsumeBytes(msg)
			if n < 0 {
				return fmt.Errorf("%s: %w", col.Name, protowire.ParseError(n))
			}
			msg = msg[n:]
			switch dst := b.Column(c).(type) {
			case []flow.Addr:
				a, ok := flow.AddrFromSlice(v)
				if !ok {
					return fmt.Errorf("%s: address of %d bytes", col.Name, len(v))
				}
				dst[row] = a
			case []string:
				dst[row] = string(v)
			default:
				return fmt.Errorf("%s: bytes for a %s column", col.Name, col.Type)
			}
		default:
			return fmt.Errorf("%s: wire type %d for a %s column", col.Name, typ, col.Type)
		}
	}
	return nil
}

func setVarint(b *flow.Batch, c, row int, v uint64) error {
	col := schema.Columns[c]
	over := func(max uint64) error {
		if v > max {
			return fmt.Errorf("%s: %d out of range", col.Name, v)
		}
		return nil
	}
	switch dst := b.Column(c).(type) {
	case []uint8:
		limit := uint64(255)
		if col.Type == schema.Enum {
			limit = uint64(len(col.Values) - 1)
		}
		if err := over(limit); err != nil {
			return err
		}
		dst[row] = uint8(v)
	case []uint16:
		if err := over(65535); err != nil {
			return err
		}
		dst[row] = uint16(v)
	case []uint32:
		if err := over(1<<32 - 1); err != nil {
			return err
		}
		dst[row] = uint32(v)
	case []uint64:
		dst[row] = v
	case []int64:
		dst[row] = int64(v)
	default:
		return fmt.Errorf("%s: varint for a %s column", col.Name, col.Type)
	}
	return nil
}
