package kql

import (
	"database/sql"
	"testing"
	"time"
)

// benchRows is the size of the synthetic table of BenchmarkExecVsHandwritten.
const benchRows = 1_000_000

func openBenchDuck(b *testing.B) *sql.DB {
	b.Helper()
	db := emptyFlows(b)
	stmts := []string{
		// 4096 sources in 10.1.0.0/16, 256 destinations in 10.2.0.0/16, three days
		`INSERT INTO flows BY NAME SELECT
			TIMESTAMP '2026-11-27 00:00:00' + to_seconds((i * 7) % 259200) AS time_received,
			unhex('00000000000000000000FFFF0A01' || lpad(hex(i % 4096), 4, '0')) AS src_addr,
			unhex('00000000000000000000FFFF0A0200' || lpad(hex((i * 31) % 256), 2, '0')) AS dst_addr,
			([443, 80, 53, 22])[i % 4 + 1]::USMALLINT AS dst_port,
			([6, 17])[i % 2 + 1]::UTINYINT AS proto,
			((i * 7919) % 100000)::UBIGINT AS bytes,
			(i % 100 + 1)::UBIGINT AS packets
		FROM range(` + itoa(benchRows) + `) t(i)`,
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			b.Fatal(err)
		}
	}
	return db
}

func drain(b *testing.B, db *sql.DB, q string) int {
	rows, err := db.Query(q)
	if err != nil {
		b.Fatalf("%v\n%s", err, q)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkExecVsHandwritten runs compiled queries and the SQL one would
// write by hand for the same question, alternately on the same table, and
// reports the compiled time as a multiple of the hand-written one.
func BenchmarkExecVsHandwritten(b *testing.B) {
	db := openBenchDuck(b)
	host := `'\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xFF\xFF\x0A\x01\x00\x08'::BLOB`
	cases := []struct{ name, kql, sql string }{
		{"peer_totals",
			`let host = "10.1.0.8"; flows | where src_addr == host or dst_addr == host
			| extend peer = iff(src_addr == host, dst_addr, src_addr)
			| summarize bytes = sum(bytes), packets = sum(packets), flows = count() by peer | sort by bytes desc`,
			`SELECT CASE WHEN src_addr = ` + host + ` THEN dst_addr ELSE src_addr END AS peer, sum(bytes) AS bytes,
			sum(packets) AS packets, count(*) AS flows FROM flows WHERE src_addr = ` + host + ` OR dst_addr = ` + host + `
			GROUP BY peer ORDER BY bytes DESC`},
		{"top_sources",
			`flows | summarize total = sum(bytes) by src_addr | top 10 by total`,
			`SELECT src_addr, sum(bytes) AS total FROM flows GROUP BY src_addr ORDER BY total DESC LIMIT 10`},
		{"daily_proto_port",
			`flows | summarize bytes = sum(bytes) by day = bin(time_received, 1d), proto, dst_port`,
			`SELECT date_trunc('day', time_received) AS day, proto, dst_port, sum(bytes) FROM flows GROUP BY ALL`},
		{"between_prefixes",
			`flows | where ipv4_is_in_range(src_addr, "10.1.0.0/20") and ipv4_is_in_range(dst_addr, "10.2.0.0/24")
			| summarize bytes = sum(bytes) by dst_addr`,
			`SELECT dst_addr, sum(bytes) FROM flows
			WHERE src_addr BETWEEN '\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xFF\xFF\x0A\x01\x00\x00'::BLOB AND '\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xFF\xFF\x0A\x01\x0F\xFF'::BLOB
			AND dst_addr BETWEEN '\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xFF\xFF\x0A\x02\x00\x00'::BLOB AND '\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xFF\xFF\x0A\x02\x00\xFF'::BLOB
			GROUP BY dst_addr`},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			c, err := Compile(tc.kql, Options{Now: goldenNow})
			if err != nil {
				b.Fatal(err)
			}
			if n1, n2 := drain(b, db, c.SQL), drain(b, db, tc.sql); n1 != n2 {
				b.Fatalf("compiled returns %d rows, hand-written %d", n1, n2)
			}
			var compiled, hand time.Duration
			timed := func(q string) time.Duration {
				t0 := time.Now()
				drain(b, db, q)
				return time.Since(t0)
			}
			i := 0
			for b.Loop() {
				// alternate which runs first so caches favour neither
				if i%2 == 0 {
					compiled += timed(c.SQL)
					hand += timed(tc.sql)
				} else {
					hand += timed(tc.sql)
					compiled += timed(c.SQL)
				}
				i++
			}
			b.ReportMetric(float64(compiled.Nanoseconds())/float64(b.N), "compiled-ns/op")
			b.ReportMetric(float64(hand.Nanoseconds())/float64(b.N), "hand-ns/op")
			b.ReportMetric(float64(compiled)/float64(hand), "x-hand")
		})
	}
}
