SELECT if(_q4.`peer` = toFixedString(unhex('00000000000000000000000000000000'), 16), '', if(substring(_q4.`peer`, 1, 12) = unhex('00000000000000000000FFFF'), IPv4NumToString(reinterpretAsUInt32(reverse(substring(_q4.`peer`, 13, 4)))), IPv6NumToString(_q4.`peer`))) AS `peer`, `bytes`, `packets`, `flows`
FROM (
  SELECT _q3.`peer` AS `peer`, toInt64(sum(_q3.`bytes`)) AS `bytes`, toInt64(sum(_q3.`packets`)) AS `packets`, count(*) AS `flows` FROM (
  SELECT *, CASE WHEN (_q2.`src_addr` = toFixedString(unhex('00000000000000000000FFFF0A010108'), 16)) THEN _q2.`dst_addr` ELSE _q2.`src_addr` END AS `peer` FROM (
  SELECT * FROM (
  SELECT * FROM (SELECT * FROM `flows`) AS _q0 WHERE (_q0.`time_received` > toDateTime64('2026-11-23 12:00:00.000000', 6, 'UTC'))
) AS _q1 WHERE ((_q1.`src_addr` = toFixedString(unhex('00000000000000000000FFFF0A010108'), 16)) OR (_q1.`dst_addr` = toFixedString(unhex('00000000000000000000FFFF0A010108'), 16)))
) AS _q2
) AS _q3 GROUP BY _q3.`peer`
) AS _q4 ORDER BY `bytes` DESC NULLS LAST;
-- columns: peer:ip bytes:long packets:long flows:long
