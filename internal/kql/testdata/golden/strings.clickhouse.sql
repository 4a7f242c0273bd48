SELECT `name`, `parts`, `first`, `len`, `up`, `sub`
FROM (
  SELECT _q4.`name` AS `name`, _q4.`parts` AS `parts`, _q4.`first` AS `first`, CAST(lengthUTF8(_q4.`name`) AS Int64) AS `len`, upper(_q4.`service`) AS `up`, substringUTF8(_q4.`service`, 1, 3) AS `sub` FROM (
  SELECT *, concat(_q3.`src_vm`, ' -> ', _q3.`dst_vm`, ' (', toString(_q3.`dst_port`), ')') AS `name`, splitByString('-', _q3.`rule`) AS `parts`, arrayElement(splitByString('-', _q3.`rule`), (0) + 1) AS `first` FROM (
  SELECT * FROM (
  SELECT * FROM (
  SELECT * FROM (SELECT * FROM `flows`) AS _q0 WHERE ((startsWith(lower(_q0.`exporter_name`), lower('edge')) AND (positionCaseInsensitiveUTF8(_q0.`service`, 'http') > 0)) AND (NOT (positionCaseInsensitiveUTF8(_q0.`application`, 'test') > 0)))
) AS _q1 WHERE ((match(_q1.`src_vm`, '(?i)(^|[^[:alnum:]])web($|[^[:alnum:]])') AND (NOT match(_q1.`dst_vm`, '(^|[^[:alnum:]])DB($|[^[:alnum:]])'))) AND (lower(_q1.`service`) IN ('https', 'http')))
) AS _q2 WHERE ((match(_q2.`labels`, 'env=(prod|stage)') AND (NOT (_q2.`src_subnet` IS NULL OR _q2.`src_subnet` = ''))) AND endsWith(_q2.`rule`, '-allow'))
) AS _q3
) AS _q4
) AS _q5;
-- columns: name:string parts:dynamic first:string len:long up:string sub:string
