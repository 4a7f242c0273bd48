WITH _q1 AS (
  SELECT *, (CAST("bytes" AS BIGINT) // 1024) AS "kb", ((CAST("bytes" AS BIGINT) // 1024) / 1024.0) AS "mb", date_trunc('hour', "time_received") AS "hour", ("time_end" - "time_start") AS "dur" FROM (SELECT * FROM "flows") AS _q0
),
_q2 AS (
  SELECT "time_received", "time_start", "time_end", "source_type", "exporter_addr", "exporter_name", "observation_domain", "sampling_rate", "ip_version", "src_addr", "dst_addr", "src_port", "dst_port", "proto", "icmp_type", "icmp_code", "tcp_flags", "tos", "vlan", "vxlan_vni", "in_if", "out_if", "next_hop", "src_as", "dst_as", "src_mask", "dst_mask", "post_nat_src_addr", "post_nat_dst_addr", "post_nat_src_port", "post_nat_dst_port", "nat_event", "fw_event", "direction", "action", "flow_state", "bytes", "packets", "rev_bytes", "rev_packets", "application", "src_country", "dst_country", "src_as_name", "dst_as_name", "src_net", "dst_net", "src_site", "dst_site", "src_subnet", "dst_subnet", "src_vm", "dst_vm", "src_host", "dst_host", "in_if_name", "out_if_name", "flow_type", "service", "account", "region", "vpc", "interface_id", "instance_id", "rule", "kb", "mb", "hour", "dur" FROM _q1
),
_q3 AS (
  SELECT "time_received", "time_start", "time_end", "source_type", "exporter_addr", "exporter_name", "observation_domain", "sampling_rate", "ip_version", "src_addr" AS "source", "dst_addr", "src_port" AS "sport", "dst_port", "proto", "icmp_type", "icmp_code", "tcp_flags", "tos", "vlan", "vxlan_vni", "in_if", "out_if", "next_hop", "src_as", "dst_as", "src_mask", "dst_mask", "post_nat_src_addr", "post_nat_dst_addr", "post_nat_src_port", "post_nat_dst_port", "nat_event", "fw_event", "direction", "action", "flow_state", "bytes", "packets", "rev_bytes", "rev_packets", "application", "src_country", "dst_country", "src_as_name", "dst_as_name", "src_net", "dst_net", "src_site", "dst_site", "src_subnet", "dst_subnet", "src_vm", "dst_vm", "src_host", "dst_host", "in_if_name", "out_if_name", "flow_type", "service", "account", "region", "vpc", "interface_id", "instance_id", "rule", "kb", "mb", "hour", "dur" FROM _q2
),
_q4 AS (
  SELECT "source", "sport", "kb", "mb", "hour", "dur" FROM _q3
),
_q5 AS (
  SELECT * FROM _q4 WHERE (("dur" > INTERVAL '30 second') AND ("mb" BETWEEN 1 AND 100))
),
_q6 AS (
  SELECT DISTINCT "source", "sport" FROM _q5
),
_q7 AS (
  SELECT count(*) AS "Count" FROM _q6
)
SELECT "Count"
FROM _q7;
-- columns: Count:long
