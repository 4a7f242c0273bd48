WITH _q1 AS (
  SELECT * FROM (SELECT * FROM "flows") AS _q0 WHERE ("time_received" > TIMESTAMP '2026-11-23 12:00:00')
),
_q2 AS (
  SELECT * FROM _q1 WHERE (("src_addr" = '\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xFF\xFF\x0A\x01\x01\x08'::BLOB) OR ("dst_addr" = '\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xFF\xFF\x0A\x01\x01\x08'::BLOB))
),
_q3 AS (
  SELECT *, CASE WHEN ("src_addr" = '\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xFF\xFF\x0A\x01\x01\x08'::BLOB) THEN "dst_addr" ELSE "src_addr" END AS "peer" FROM _q2
),
_q4 AS (
  SELECT "peer", CAST(sum(CAST("bytes" AS BIGINT)) AS BIGINT) AS "bytes", CAST(sum(CAST("packets" AS BIGINT)) AS BIGINT) AS "packets", count(*) AS "flows" FROM _q3 GROUP BY "peer"
)
SELECT list_transform([hex("peer")], h -> CASE WHEN h = '00000000000000000000000000000000' THEN '' WHEN substr(h, 1, 24) = '00000000000000000000FFFF' THEN concat_ws('.', ('0x' || substr(h, 25, 2))::INTEGER, ('0x' || substr(h, 27, 2))::INTEGER, ('0x' || substr(h, 29, 2))::INTEGER, ('0x' || substr(h, 31, 2))::INTEGER) ELSE list_transform([regexp_replace(rtrim(lower(regexp_replace(h, '(....)', '\1:', 'g')), ':'), '(^|:)0+([0-9a-f])', '\1\2', 'g')], g -> CASE WHEN regexp_matches(g, '(^|:)0(:0)(:0)(:0)(:0)(:0)(:0)(:|$)') THEN regexp_replace(g, '(^|:)0(:0)(:0)(:0)(:0)(:0)(:0)(:|$)', '::') WHEN regexp_matches(g, '(^|:)0(:0)(:0)(:0)(:0)(:0)(:|$)') THEN regexp_replace(g, '(^|:)0(:0)(:0)(:0)(:0)(:0)(:|$)', '::') WHEN regexp_matches(g, '(^|:)0(:0)(:0)(:0)(:0)(:|$)') THEN regexp_replace(g, '(^|:)0(:0)(:0)(:0)(:0)(:|$)', '::') WHEN regexp_matches(g, '(^|:)0(:0)(:0)(:0)(:|$)') THEN regexp_replace(g, '(^|:)0(:0)(:0)(:0)(:|$)', '::') WHEN regexp_matches(g, '(^|:)0(:0)(:0)(:|$)') THEN regexp_replace(g, '(^|:)0(:0)(:0)(:|$)', '::') WHEN regexp_matches(g, '(^|:)0(:0)(:|$)') THEN regexp_replace(g, '(^|:)0(:0)(:|$)', '::') ELSE g END)[1] END)[1] AS "peer", "bytes", "packets", "flows"
FROM _q4 ORDER BY "bytes" DESC NULLS LAST;
-- columns: peer:ip bytes:long packets:long flows:long
