SELECT if(_q6.`src_addr` = toFixedString(unhex('00000000000000000000000000000000'), 16), '', if(substring(_q6.`src_addr`, 1, 12) = unhex('00000000000000000000FFFF'), IPv4NumToString(reinterpretAsUInt32(reverse(substring(_q6.`src_addr`, 13, 4)))), IPv6NumToString(_q6.`src_addr`))) AS `src_addr`, `n`, `ports`
FROM (
  SELECT _q5.`src_addr` AS `src_addr`, count(*) AS `n`, uniqExact(_q5.`dst_port`) AS `ports` FROM (
  SELECT `src_addr`, `dst_port`, `bytes`, CAST(NULL AS Int64) AS `dport`, CAST(NULL AS Int64) AS `packets` FROM (
  SELECT _q1.`src_addr` AS `src_addr`, _q1.`dst_port` AS `dst_port`, _q1.`bytes` AS `bytes` FROM (
  SELECT * FROM (SELECT * FROM `flows`) AS _q0 WHERE (_q0.`proto` = 6)
) AS _q1
) AS _u0
  UNION ALL
  SELECT `src_addr`, CAST(NULL AS Int64) AS `dst_port`, CAST(NULL AS Int64) AS `bytes`, `dport`, `packets` FROM (
  SELECT _q3.`src_addr` AS `src_addr`, _q3.`dst_port` AS `dport`, _q3.`packets` AS `packets` FROM (
  SELECT * FROM (SELECT * FROM `flows`) AS _q0 WHERE (_q0.`proto` = 17)
) AS _q3
) AS _u1
) AS _q5 GROUP BY _q5.`src_addr`
) AS _q6;
-- columns: src_addr:ip n:long ports:long
