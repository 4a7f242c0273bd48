SELECT `w`, `m`, `d`, `slow`, `ms`, `tick`
FROM (
  SELECT _q4.`w` AS `w`, _q4.`m` AS `m`, _q4.`d` AS `d`, ((toUnixTimestamp64Micro(_q4.`time_end`) - toUnixTimestamp64Micro(_q4.`time_start`)) > INTERVAL 90 MINUTE) AS `slow`, INTERVAL 100 MILLISECOND AS `ms`, INTERVAL 1 MICROSECOND AS `tick` FROM (
  SELECT *, toDateTime64(toStartOfWeek(_q3.`time_received`, 0), 6, 'UTC') AS `w`, toDateTime64(toStartOfMonth(_q3.`time_received`), 6, 'UTC') AS `m`, toDateTime64('2026-11-30 00:00:00.000000', 6, 'UTC') AS `d` FROM (
  SELECT * FROM (
  SELECT * FROM (
  SELECT * FROM (SELECT * FROM `flows`) AS _q0 WHERE (_q0.`time_received` BETWEEN toDateTime64('2026-11-01 00:00:00.000000', 6, 'UTC') AND toDateTime64('2026-11-30 10:00:00.000000', 6, 'UTC'))
) AS _q1 WHERE ((_q1.`time_start` > toDateTime64('2026-11-29 07:00:00.000000', 6, 'UTC')) AND (_q1.`time_end` < toDateTime64('2026-11-30 11:00:00.000000', 6, 'UTC')))
) AS _q2 WHERE (((_q2.`src_vm` = 'web-01') OR (_q2.`dst_vm` = 'db-01')) OR (_q2.`src_vm` = 'c:\\vm'))
) AS _q3
) AS _q4
) AS _q5;
-- columns: w:datetime m:datetime d:datetime slow:bool ms:timespan tick:timespan
