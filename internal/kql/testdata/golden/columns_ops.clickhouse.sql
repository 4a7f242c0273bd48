SELECT `Count`
FROM (
  SELECT count(*) AS `Count` FROM (
  SELECT DISTINCT _q5.`source` AS `source`, _q5.`sport` AS `sport` FROM (
  SELECT * FROM (
  SELECT `source`, `sport`, `kb`, `mb`, `hour`, `dur` FROM (
  SELECT `time_received`, `time_start`, `time_end`, `source_type`, `exporter_addr`, `exporter_name`, `observation_domain`, `sampling_rate`, `ip_version`, `src_addr` AS `source`, `dst_addr`, `src_port` AS `sport`, `dst_port`, `proto`, `icmp_type`, `icmp_code`, `tcp_flags`, `tos`, `vlan`, `vxlan_vni`, `in_if`, `out_if`, `next_hop`, `src_as`, `dst_as`, `src_mask`, `dst_mask`, `post_nat_src_addr`, `post_nat_dst_addr`, `post_nat_src_port`, `post_nat_dst_port`, `nat_event`, `fw_event`, `direction`, `action`, `flow_state`, `bytes`, `packets`, `rev_bytes`, `rev_packets`, `application`, `src_country`, `dst_country`, `src_as_name`, `dst_as_name`, `src_net`, `dst_net`, `src_site`, `dst_site`, `src_subnet`, `dst_subnet`, `src_vm`, `dst_vm`, `src_host`, `dst_host`, `in_if_name`, `out_if_name`, `flow_type`, `service`, `account`, `region`, `vpc`, `interface_id`, `instance_id`, `rule`, `kb`, `mb`, `hour`, `dur` FROM (
  SELECT `time_received`, `time_start`, `time_end`, `source_type`, `exporter_addr`, `exporter_name`, `observation_domain`, `sampling_rate`, `ip_version`, `src_addr`, `dst_addr`, `src_port`, `dst_port`, `proto`, `icmp_type`, `icmp_code`, `tcp_flags`, `tos`, `vlan`, `vxlan_vni`, `in_if`, `out_if`, `next_hop`, `src_as`, `dst_as`, `src_mask`, `dst_mask`, `post_nat_src_addr`, `post_nat_dst_addr`, `post_nat_src_port`, `post_nat_dst_port`, `nat_event`, `fw_event`, `direction`, `action`, `flow_state`, `bytes`, `packets`, `rev_bytes`, `rev_packets`, `application`, `src_country`, `dst_country`, `src_as_name`, `dst_as_name`, `src_net`, `dst_net`, `src_site`, `dst_site`, `src_subnet`, `dst_subnet`, `src_vm`, `dst_vm`, `src_host`, `dst_host`, `in_if_name`, `out_if_name`, `flow_type`, `service`, `account`, `region`, `vpc`, `interface_id`, `instance_id`, `rule`, `kb`, `mb`, `hour`, `dur` FROM (
  SELECT *, intDiv(CAST(_q0.`bytes` AS Int64), 1024) AS `kb`, (intDiv(CAST(_q0.`bytes` AS Int64), 1024) / 1024.0) AS `mb`, toStartOfHour(_q0.`time_received`) AS `hour`, (toUnixTimestamp64Micro(_q0.`time_end`) - toUnixTimestamp64Micro(_q0.`time_start`)) AS `dur` FROM (SELECT * FROM `flows`) AS _q0
) AS _q1
) AS _q2
) AS _q3
) AS _q4 WHERE ((_q4.`dur` > INTERVAL 30 SECOND) AND (_q4.`mb` BETWEEN 1 AND 100))
) AS _q5
) AS _q6
) AS _q7;
-- columns: Count:long
