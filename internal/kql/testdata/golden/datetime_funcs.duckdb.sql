WITH _q1 AS (
  SELECT *, to_days(CAST(dayofweek("time_received") AS INTEGER)) AS "wd", ("time_start" + INTERVAL (90) MINUTE) AS "later" FROM (SELECT * FROM "flows") AS _q0
),
_q2 AS (
  SELECT * FROM _q1 WHERE ((CAST(date_diff('second', "time_start", "time_end") AS BIGINT) > 30) AND (CAST(hour("time_received") AS BIGINT) BETWEEN 8 AND 17))
),
_q3 AS (
  SELECT "wd", time_bucket(INTERVAL '15 minute', "time_received", TIMESTAMP '1970-01-01 00:00:00') AS "h", count(*) AS "n", count(DISTINCT date_trunc('day', "time_received")) AS "days" FROM _q2 GROUP BY "wd", time_bucket(INTERVAL '15 minute', "time_received", TIMESTAMP '1970-01-01 00:00:00')
)
SELECT "wd", "h", "n", "days"
FROM _q3;
-- columns: wd:timespan h:datetime n:long days:long
