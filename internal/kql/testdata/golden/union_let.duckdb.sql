WITH _q1 AS (
  SELECT * FROM (SELECT * FROM "flows") AS _q0 WHERE ("proto" = 6)
),
_q2 AS (
  SELECT "src_addr", "dst_port", "bytes" FROM _q1
),
_q3 AS (
  SELECT * FROM (SELECT * FROM "flows") AS _q0 WHERE ("proto" = 17)
),
_q4 AS (
  SELECT "src_addr", "dst_port" AS "dport", "packets" FROM _q3
),
_q5 AS (
  SELECT "src_addr", "dst_port", "bytes", CAST(NULL AS BIGINT) AS "dport", CAST(NULL AS BIGINT) AS "packets" FROM _q2 AS _u0
  UNION ALL
  SELECT "src_addr", CAST(NULL AS BIGINT) AS "dst_port", CAST(NULL AS BIGINT) AS "bytes", "dport", "packets" FROM _q4 AS _u1
),
_q6 AS (
  SELECT "src_addr", count(*) AS "n", count(DISTINCT "dst_port") AS "ports" FROM _q5 GROUP BY "src_addr"
)
SELECT list_transform([hex("src_addr")], h -> CASE WHEN h = '00000000000000000000000000000000' THEN '' WHEN substr(h, 1, 24) = '00000000000000000000FFFF' THEN concat_ws('.', ('0x' || substr(h, 25, 2))::INTEGER, ('0x' || substr(h, 27, 2))::INTEGER, ('0x' || substr(h, 29, 2))::INTEGER, ('0x' || substr(h, 31, 2))::INTEGER) ELSE list_transform([regexp_replace(rtrim(lower(regexp_replace(h, '(....)', '\1:', 'g')), ':'), '(^|:)0+([0-9a-f])', '\1\2', 'g')], g -> CASE WHEN regexp_matches(g, '(^|:)0(:0)(:0)(:0)(:0)(:0)(:0)(:|$)') THEN regexp_replace(g, '(^|:)0(:0)(:0)(:0)(:0)(:0)(:0)(:|$)', '::') WHEN regexp_matches(g, '(^|:)0(:0)(:0)(:0)(:0)(:0)(:|$)') THEN regexp_replace(g, '(^|:)0(:0)(:0)(:0)(:0)(:0)(:|$)', '::') WHEN regexp_matches(g, '(^|:)0(:0)(:0)(:0)(:0)(:|$)') THEN regexp_replace(g, '(^|:)0(:0)(:0)(:0)(:0)(:|$)', '::') WHEN regexp_matches(g, '(^|:)0(:0)(:0)(:0)(:|$)') THEN regexp_replace(g, '(^|:)0(:0)(:0)(:0)(:|$)', '::') WHEN regexp_matches(g, '(^|:)0(:0)(:0)(:|$)') THEN regexp_replace(g, '(^|:)0(:0)(:0)(:|$)', '::') WHEN regexp_matches(g, '(^|:)0(:0)(:|$)') THEN regexp_replace(g, '(^|:)0(:0)(:|$)', '::') ELSE g END)[1] END)[1] AS "src_addr", "n", "ports"
FROM _q6;
-- columns: src_addr:ip n:long ports:long
