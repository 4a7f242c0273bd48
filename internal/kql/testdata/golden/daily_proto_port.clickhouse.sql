SELECT `day`, `proto`, `dst_port`, `bytes`
FROM (
  SELECT toStartOfDay(_q1.`time_received`) AS `day`, _q1.`proto` AS `proto`, _q1.`dst_port` AS `dst_port`, toInt64(sum(_q1.`bytes`)) AS `bytes` FROM (
  SELECT * FROM (SELECT * FROM `flows`) AS _q0 WHERE (_q0.`time_received` >= toDateTime64('2026-11-23 00:00:00.000000', 6, 'UTC'))
) AS _q1 GROUP BY toStartOfDay(_q1.`time_received`), _q1.`proto`, _q1.`dst_port`
) AS _q2 ORDER BY `day` ASC NULLS FIRST, `bytes` DESC NULLS LAST;
-- columns: day:datetime proto:long dst_port:long bytes:long
-- render: columnchart kind="stacked" series="proto,dst_port" title="Daily traffic by port" ycolumns="bytes"
