WITH _q1 AS (
  SELECT * FROM (SELECT * FROM "flows") AS _q0 WHERE ("time_received" BETWEEN TIMESTAMP '2026-11-01 00:00:00' AND TIMESTAMP '2026-11-30 10:00:00')
),
_q2 AS (
  SELECT * FROM _q1 WHERE (("time_start" > TIMESTAMP '2026-11-29 07:00:00') AND ("time_end" < TIMESTAMP '2026-11-30 11:00:00'))
),
_q3 AS (
  SELECT * FROM _q2 WHERE ((("src_vm" = 'web-01') OR ("dst_vm" = 'db-01')) OR ("src_vm" = 'c:\vm'))
),
_q4 AS (
  SELECT *, time_bucket(INTERVAL '7 days', "time_received", TIMESTAMP '1970-01-04 00:00:00') AS "w", date_trunc('month', "time_received") AS "m", TIMESTAMP '2026-11-30 00:00:00' AS "d" FROM _q3
),
_q5 AS (
  SELECT "w", "m", "d", (("time_end" - "time_start") > INTERVAL '90 minute') AS "slow", INTERVAL '100 millisecond' AS "ms", INTERVAL '1 microsecond' AS "tick" FROM _q4
)
SELECT "w", "m", "d", "slow", "ms", "tick"
FROM _q5;
-- columns: w:datetime m:datetime d:datetime slow:bool ms:timespan tick:timespan
