SELECT `wd`, `h`, `n`, `days`
FROM (
  SELECT _q2.`wd` AS `wd`, toStartOfInterval(_q2.`time_received`, INTERVAL 15 MINUTE) AS `h`, count(*) AS `n`, uniqExact(toStartOfDay(_q2.`time_received`)) AS `days` FROM (
  SELECT * FROM (
  SELECT *, toIntervalDay(toDayOfWeek(_q0.`time_received`) % 7) AS `wd`, (_q0.`time_start` + INTERVAL 90 MINUTE) AS `later` FROM (SELECT * FROM `flows`) AS _q0
) AS _q1 WHERE ((CAST(dateDiff('second', _q1.`time_start`, _q1.`time_end`) AS Int64) > 30) AND (CAST(toHour(_q1.`time_received`) AS Int64) BETWEEN 8 AND 17))
) AS _q2 GROUP BY _q2.`wd`, toStartOfInterval(_q2.`time_received`, INTERVAL 15 MINUTE)
) AS _q3;
-- columns: wd:timespan h:datetime n:long days:long
