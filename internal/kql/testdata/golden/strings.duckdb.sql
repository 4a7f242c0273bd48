WITH _q1 AS (
  SELECT * FROM (SELECT * FROM "flows") AS _q0 WHERE ((starts_with(lower("exporter_name"), lower('edge')) AND contains(lower("service"), lower('http'))) AND (NOT contains(lower("application"), lower('test'))))
),
_q2 AS (
  SELECT * FROM _q1 WHERE ((regexp_matches("src_vm", '(?i)(^|[^[:alnum:]])web($|[^[:alnum:]])') AND (NOT regexp_matches("dst_vm", '(^|[^[:alnum:]])DB($|[^[:alnum:]])'))) AND (lower("service") IN ('https', 'http')))
),
_q3 AS (
  SELECT * FROM _q2 WHERE ((regexp_matches("labels", 'env=(prod|stage)') AND (NOT ("src_subnet" IS NULL OR "src_subnet" = ''))) AND ends_with("rule", '-allow'))
),
_q4 AS (
  SELECT *, concat("src_vm", ' -> ', "dst_vm", ' (', CAST("dst_port" AS VARCHAR), ')') AS "name", string_split("rule", '-') AS "parts", string_split("rule", '-')[(0) + 1] AS "first" FROM _q3
),
_q5 AS (
  SELECT "name", "parts", "first", CAST(length("name") AS BIGINT) AS "len", upper("service") AS "up", substr("service", 1, 3) AS "sub" FROM _q4
)
SELECT "name", "parts", "first", "len", "up", "sub"
FROM _q5;
-- columns: name:string parts:dynamic first:string len:long up:string sub:string
