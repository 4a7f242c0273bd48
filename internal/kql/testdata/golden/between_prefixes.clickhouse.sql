SELECT `direction_label`, `bytes`, `flows`
FROM (
  SELECT _q2.`direction_label` AS `direction_label`, toInt64(sum(_q2.`bytes`)) AS `bytes`, count(*) AS `flows` FROM (
  SELECT *, CASE WHEN (_q1.`src_addr` BETWEEN toFixedString(unhex('00000000000000000000FFFF0A010000'), 16) AND toFixedString(unhex('00000000000000000000FFFF0A01FFFF'), 16)) THEN 'A->B' ELSE 'B->A' END AS `direction_label` FROM (
  SELECT * FROM (SELECT * FROM `flows`) AS _q0 WHERE (((_q0.`src_addr` BETWEEN toFixedString(unhex('00000000000000000000FFFF0A010000'), 16) AND toFixedString(unhex('00000000000000000000FFFF0A01FFFF'), 16)) AND (_q0.`dst_addr` BETWEEN toFixedString(unhex('00000000000000000000FFFF0A020000'), 16) AND toFixedString(unhex('00000000000000000000FFFF0A02FFFF'), 16))) OR ((_q0.`src_addr` BETWEEN toFixedString(unhex('00000000000000000000FFFF0A020000'), 16) AND toFixedString(unhex('00000000000000000000FFFF0A02FFFF'), 16)) AND (_q0.`dst_addr` BETWEEN toFixedString(unhex('00000000000000000000FFFF0A010000'), 16) AND toFixedString(unhex('00000000000000000000FFFF0A01FFFF'), 16))))
) AS _q1
) AS _q2 GROUP BY _q2.`direction_label`
) AS _q3;
-- columns: direction_label:string bytes:long flows:long
