SELECT `time_received`, if(_q2.`src_addr` = toFixedString(unhex('00000000000000000000000000000000'), 16), '', if(substring(_q2.`src_addr`, 1, 12) = unhex('00000000000000000000FFFF'), IPv4NumToString(reinterpretAsUInt32(reverse(substring(_q2.`src_addr`, 13, 4)))), IPv6NumToString(_q2.`src_addr`))) AS `src_addr`, if(_q2.`dst_addr` = toFixedString(unhex('00000000000000000000000000000000'), 16), '', if(substring(_q2.`dst_addr`, 1, 12) = unhex('00000000000000000000FFFF'), IPv4NumToString(reinterpretAsUInt32(reverse(substring(_q2.`dst_addr`, 13, 4)))), IPv6NumToString(_q2.`dst_addr`))) AS `dst_addr`, `bytes`
FROM (
  SELECT _q1.`time_received` AS `time_received`, _q1.`src_addr` AS `src_addr`, _q1.`dst_addr` AS `dst_addr`, _q1.`bytes` AS `bytes` FROM (
  SELECT * FROM (SELECT * FROM `flows`) AS _q0 WHERE ((_q0.`src_addr` = toFixedString(unhex('00000000000000000000FFFF0A010108'), 16)) OR (_q0.`dst_addr` = toFixedString(unhex('20010DB8000000000000000000000001'), 16)))
) AS _q1
) AS _q2;
-- columns: time_received:datetime src_addr:ip dst_addr:ip bytes:long
