WITH _q1 AS (
  SELECT * FROM (SELECT * FROM "flows") AS _q0 WHERE ("time_received" >= TIMESTAMP '2026-11-23 00:00:00')
),
_q2 AS (
  SELECT date_trunc('day', "time_received") AS "day", "proto", "dst_port", CAST(sum(CAST("bytes" AS BIGINT)) AS BIGINT) AS "bytes" FROM _q1 GROUP BY date_trunc('day', "time_received"), "proto", "dst_port"
)
SELECT "day", "proto", "dst_port", "bytes"
FROM _q2 ORDER BY "day" ASC NULLS FIRST, "bytes" DESC NULLS LAST;
-- columns: day:datetime proto:long dst_port:long bytes:long
-- render: columnchart kind="stacked" series="proto,dst_port" title="Daily traffic by port" ycolumns="bytes"
