SELECT if(_q3.`src` = toFixedString(unhex('00000000000000000000000000000000'), 16), '', if(substring(_q3.`src`, 1, 12) = unhex('00000000000000000000FFFF'), IPv4NumToString(reinterpretAsUInt32(reverse(substring(_q3.`src`, 13, 4)))), IPv6NumToString(_q3.`src`))) AS `src`, `bytes`
FROM (
  SELECT * FROM (
  SELECT _q1.`src_addr` AS `src`, _q1.`bytes` AS `bytes` FROM (
  SELECT _q0.`src_addr` AS `src_addr`, _q0.`dst_addr` AS `dst_addr`, toInt64(sum(_q0.`bytes`)) AS `bytes` FROM (SELECT * FROM `flows`) AS _q0 GROUP BY _q0.`src_addr`, _q0.`dst_addr`
) AS _q1
) AS _q2 ORDER BY `bytes` DESC NULLS LAST, `src` ASC NULLS FIRST LIMIT 20
) AS _q3 ORDER BY `bytes` DESC NULLS LAST, `src` ASC NULLS FIRST;
-- columns: src:ip bytes:long
