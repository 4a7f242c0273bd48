WITH _q1 AS (
  SELECT "src_addr", CAST(sum(CAST("bytes" AS BIGINT)) AS BIGINT) AS "total" FROM (SELECT * FROM "flows") AS _q0 GROUP BY "src_addr"
),
_q2 AS (
  SELECT * FROM _q1 ORDER BY "total" DESC NULLS LAST LIMIT 10
)
SELECT list_transform([hex("src_addr")], h -> CASE WHEN h = '00000000000000000000000000000000' THEN '' WHEN substr(h, 1, 24) = '00000000000000000000FFFF' THEN concat_ws('.', ('0x' || substr(h, 25, 2))::INTEGER, ('0x' || substr(h, 27, 2))::INTEGER, ('0x' || substr(h, 29, 2))::INTEGER, ('0x' || substr(h, 31, 2))::INTEGER) ELSE list_transform([regexp_replace(rtrim(lower(regexp_replace(h, '(....)', '\1:', 'g')), ':'), '(^|:)0+([0-9a-f])', '\1\2', 'g')], g -> CASE WHEN regexp_matches(g, '(^|:)0(:0)(:0)(:0)(:0)(:0)(:0)(:|$)') THEN regexp_replace(g, '(^|:)0(:0)(:0)(:0)(:0)(:0)(:0)(:|$)', '::') WHEN regexp_matches(g, '(^|:)0(:0)(:0)(:0)(:0)(:0)(:|$)') THEN regexp_replace(g, '(^|:)0(:0)(:0)(:0)(:0)(:0)(:|$)', '::') WHEN regexp_matches(g, '(^|:)0(:0)(:0)(:0)(:0)(:|$)') THEN regexp_replace(g, '(^|:)0(:0)(:0)(:0)(:0)(:|$)', '::') WHEN regexp_matches(g, '(^|:)0(:0)(:0)(:0)(:|$)') THEN regexp_replace(g, '(^|:)0(:0)(:0)(:0)(:|$)', '::') WHEN regexp_matches(g, '(^|:)0(:0)(:0)(:|$)') THEN regexp_replace(g, '(^|:)0(:0)(:0)(:|$)', '::') WHEN regexp_matches(g, '(^|:)0(:0)(:|$)') THEN regexp_replace(g, '(^|:)0(:0)(:|$)', '::') ELSE g END)[1] END)[1] AS "src_addr", "total"
FROM _q2 ORDER BY "total" DESC NULLS LAST;
-- columns: src_addr:ip total:long
-- render: piechart
