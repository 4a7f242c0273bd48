SELECT if(_q2.`src_addr` = toFixedString(unhex('00000000000000000000000000000000'), 16), '', if(substring(_q2.`src_addr`, 1, 12) = unhex('00000000000000000000FFFF'), IPv4NumToString(reinterpretAsUInt32(reverse(substring(_q2.`src_addr`, 13, 4)))), IPv6NumToString(_q2.`src_addr`))) AS `src_addr`, `total`
FROM (
  SELECT * FROM (
  SELECT _q0.`src_addr` AS `src_addr`, toInt64(sum(_q0.`bytes`)) AS `total` FROM (SELECT * FROM `flows`) AS _q0 GROUP BY _q0.`src_addr`
) AS _q1 ORDER BY _q1.`total` DESC NULLS LAST LIMIT 10
) AS _q2 ORDER BY `total` DESC NULLS LAST;
-- columns: src_addr:ip total:long
-- render: piechart
