// Package kql parses flowlake's KQL-style pipe language and compiles it to
// one SQL SELECT statement per query, for DuckDB (the embedded engine) or
// ClickHouse (scale-out). It executes nothing.
//
//	flows
//	| where dst_port == 443 and time_received > ago(1d)
//	| summarize bytes = sum(bytes) by bin(time_received, 1h), src_addr
//	| top 10 by bytes
//	| render timechart
//
// # Language
//
// A query is zero or more `let name = scalar-or-tabular-expression;`
// statements followed by a tabular expression: a table name, a
// parenthesised sub-query or `union A, B, ...`, then piped operators:
// where (filter), project, project-away, project-keep, project-rename,
// extend, summarize aggregations by keys, top N by expr [asc|desc]
// [nulls first|last], sort/order by, take/limit, distinct (columns or *),
// count, join [kind=inner|leftouter|rightouter|fullouter|leftsemi|leftanti]
// (table or (sub-query)) on col, $left.a == $right.b, union, as name,
// getschema (the columns and their types), and render kind
// [with (name=value, ...)] as the last operator.
//
// Literals: strings in '...', "...", ‘...’, “...” (backslash escapes) and
// @"..." (verbatim); long, real; true/false/null; timespans 30s, 5m, 1h,
// 7d, 100ms, 10microseconds, 1tick, timespan(1.02:03:04); datetime(2026-11-30),
// datetime(2026-11-30 10:00[:ss[.f]]), datetime("2026-11-30T10:00:00Z").
// Comments run from // to the end of the line. Column names that are not
// identifiers are written ['name'].
//
// Scalar operators: arithmetic + - * / %, comparisons == != <> < <= > >=,
// =~ !~ (case-insensitive), and, or, not(), in / !in / in~ / !in~ (lists),
// between / !between (a .. b), contains, has, startswith, endswith,
// hasprefix, hassuffix (all case-insensitive, with _cs variants and !
// negations), matches regex. Functions: ago, now, datetime/todatetime,
// startofday/week/month/year, hourofday, dayofmonth, getmonth, getyear,
// bin/floor (datetimes and numbers), round, abs, ceiling, sqrt, log, log10,
// exp, pow, strcat, tostring, toint, tolong, toreal/todouble, tolower,
// toupper, strlen, substring, replace_string, split (and x[i]),
// array_length, iff/iif, case, coalesce, max_of, min_of, isempty,
// isnotempty, isnull, isnotnull, ipv4_is_in_range, ipv4_is_in_any_range,
// ipv4_is_match, ipv4_is_private, ipv6_is_in_range, ip_in_range.
// Aggregations (summarize only): count, countif, sum, sumif, avg, min, max,
// any/take_any, dcount (exact), percentile, percentiles, make_set,
// make_list, arg_max, arg_min. Anything else is a compile error with a
// position; only these functions and operators reach SQL, identifiers are
// quoted and literals escaped by the Dialect.
//
// # Types and storage
//
// Expressions are typed (bool, long, real, string, datetime, timespan, ip,
// dynamic). The flows table takes its columns from internal/flow/schema as
// the engine's flows view holds them: times are naive-UTC TIMESTAMPs,
// addresses 16-byte BLOBs (IPv4 mapped, all zero = absent), enums VARCHAR
// names, counters unsigned integers (arithmetic casts them to BIGINT, sums
// are cast back to BIGINT). An address compared with a string literal
// becomes a comparison with a blob literal computed in Go; address ranges
// (literal CIDRs only) become BETWEEN on the blob, so filters keep the
// stored representation and reach the files' statistics. Grouping and
// joins work on the blob; addresses are turned into text only in the final
// SELECT (or by tostring/strcat/string operators), with pure SQL
// (Dialect.FormatAddr): "" for the zero address, dotted IPv4, RFC 5952 IPv6.
//
// ago(), now() and datetime arithmetic on constants are folded at compile
// time (Options.Now), so time filters arrive at the engine as literals.
// Options.From/To are applied where the flows table is scanned.
//
// # Compatibility tables
//
// NTANetAnalytics exposes flows under Azure Traffic Analytics names and
// vocabulary (FlowDirection Inbound/Outbound, FlowStatus Allowed/Denied,
// L4Protocol T/U, FlowType IntraVNet/InterVNet/ExternalPublic/
// UnknownPrivate/Unknown, SubType FlowLog). SrcRegion/DestRegion and
// SrcSubscription/DestSubscription come from the reporting interface's
// region/account by direction; MacAddress is interface_id (Azure puts the
// NIC's MAC there); AllowedInFlows, AllowedOutFlows, DeniedInFlows,
// DeniedOutFlows, CompletedFlows and FlowCount are 0/1 per flow row.
// SrcLoadBalancer and DestLoadBalancer are always empty (no input fills
// them), and FlowType never takes Azure's S2S, P2S, AzurePublic or
// MaliciousFlow (flowlake's flow_type has no such classes). NTAIpDetails lists the addresses of
// flows that carry a country or AS organisation (Ip, FlowType
// ExternalPublic, PublicIpDetails = AS organisation, Location = country,
// TimeGenerated = last seen). AzureNetworkAnalytics_CL, the older Traffic
// Analytics table most published queries use, is mapped likewise (SrcIP_s,
// DestIP_s, DestPort_d, L4Protocol_s, FlowDirection_s I/O, FlowStatus_s A/D,
// FlowType_s, NSGRule_s, VM1_s/VM2_s, Subnet1_s/Subnet2_s, Country_s,
// Inbound/OutboundBytes_d and _Packets_d seen from the logging interface,
// Allowed/DeniedIn/OutFlows_d, FlowCount_d). Options.Tables adds tables
// (enrichment) or replaces built-in ones.
//
// # Known differences from Kusto
//
// join without kind is an inner join (Kusto's innerunique de-duplicates
// the left keys); dcount is exact; percentile picks an actual value
// (quantile_disc); make_set's size limit is ignored; sort order is kept
// across later operators when the sort keys are plain columns that stay in
// the result. In the ClickHouse dialect, bin() on datetimes uses
// toStartOfInterval (aligned like Kusto for units up to a day).
package kql
