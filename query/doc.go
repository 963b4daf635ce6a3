// Package query compiles CloudTrail Lake SQL (parsed by package query/sql)
// into a Plan and runs it over raw CloudTrail records, split so that it can
// run distributed.
//
// # The split
//
// Every shard runs a Partial over its records: Add filters each record
// (WHERE) and either accumulates partial aggregate states per group, or keeps
// the projected rows with their ORDER BY keys; with ORDER BY and LIMIT only
// the best LIMIT rows (top-N); with LIMIT and no ORDER BY it reports Done
// once it has LIMIT rows. Encode serialises that. The coordinator merges the
// encoded partials (Merger.Merge) and finishes the query (Merger.Rows):
// aggregate results, HAVING, the output columns, DISTINCT, ORDER BY, LIMIT.
// Execute does both in one process.
//
// Merging the partials of any split of the records gives the rows that one
// Partial over all of them gives, except for what SQL leaves open: the
// order of rows that ORDER BY leaves tied (or of all rows, without ORDER
// BY), which of several tied rows a LIMIT keeps, which LIMIT rows a query
// without ORDER BY returns, the value arbitrary, max_by and min_by pick among
// equals, and the last bits of double sums (integer sums and averages of
// integers are exact).
//
// # Concurrency
//
// A Plan is immutable and safe for concurrent use: many Partials of one
// Plan may run in parallel. A Partial or a Merger belongs to one goroutine.
// Every node taking part in one query must compile the same text with the
// same Options.Now; Merge checks a fingerprint of both.
//
// # Partial codec
//
// An encoded partial starts with a version byte (1) and the plan's 8-byte
// fingerprint, then 'r' (rows) or 'g' (groups) and the Stats as uvarints.
// Rows: the row width and count, then each row's values (output columns,
// then ORDER BY keys). Groups: the number of keys and aggregates and of
// groups, then per group its key values and each aggregate's state (a count,
// a sum as count, bigint sum, double sum; min and max as a value; DISTINCT as
// the set of distinct values, so count(DISTINCT) stays exact). A value is a
// tag byte and a varint, 8 bytes or a length-prefixed string; see codec.go.
//
// # Columns and types
//
// The table is the CloudTrail Lake event schema (schema.go): columns are the
// record's top-level fields, matched ignoring case (eventid is eventID);
// dotted paths reach struct fields, also ignoring case against the keys the
// record has (resources[1].arn finds "ARN"). A missing field is NULL.
// requestParameters, responseElements, additionalEventData and
// serviceEventDetails are map(varchar, varchar): element_at(m, 'key') gives
// the value, as JSON text when it is not a string, NULL when absent (map
// keys match exactly). eventJson is the whole record as received.
// Structs, arrays and maps come out as their JSON (Value kind KindJSON).
//
// Output columns are named by their alias; else a column or field path by
// its last name (a top-level column as the schema spells it: eventID for
// eventid); else a field access by the field's name; else _colN, N being
// the column's position from 0, as Trino does.
//
// # Semantics
//
// As Trino's: NULL propagates, AND, OR and NOT are three-valued; comparing
// a timestamp with a string literal reads the literal as a time ('2026-01-01
// 00:00:00', '2026-01-01T00:00:00Z', '2026-01-01'; a literal that is not a
// time is a compile error); bigint arithmetic is exact (overflow and division
// by zero are errors), bigint / bigint truncates; strings compare by bytes;
// NULLs sort last unless NULLS FIRST; LIKE is case-sensitive with % and _.
// All times are UTC with nanosecond precision; timestamps print as ISO-8601
// ("2026-01-02T03:04:05Z", with 3, 6 or 9 fractional digits when present).
//
// Where Trino would need a type known in advance and Cairn reads a value of
// unknown type from JSON (a nested struct field), the comparison coerces at
// run time: a number against a string that holds a number, a time against a
// string that holds a time, a boolean against 'true'/'false'; otherwise it
// is NULL. element_at and [] on a missing key or an index out of range give
// NULL (Trino's [] fails instead). Regular expressions are RE2 (Go's
// regexp): Trino's Java patterns without backreferences or lookaround.
//
// # Limits
//
// Options.MaxGroups bounds the groups plus DISTINCT values, and
// Options.MaxRows the rows, that one Partial or Merger holds; passing one
// fails the query with ErrLimit rather than exhausting memory.
//
// # UNION
//
// SELECT … UNION [ALL] SELECT … runs when every SELECT reads the same table
// and none aggregates: each record is offered to every SELECT (a row per
// SELECT whose WHERE it passes); the first SELECT names the columns; ORDER
// BY and LIMIT apply to the whole and may use only output columns; UNION
// without ALL drops duplicate rows in the Merger (its Partials then keep
// every row, without top-N). Prune is the weakest of the SELECTs'.
//
// # Not supported
//
// JOIN, UNNEST, subqueries, WITH, INTERSECT, EXCEPT, UNION of aggregating
// SELECTs, window functions, lambdas, GROUPING SETS, OFFSET and CASTs to
// map, array or row fail with "unsupported: …" (errors.Is(err,
// sql.ErrUnsupported)).
//
// # Extensions
//
// Beyond Trino, HAVING and GROUP BY may name an output alias (when no column
// has that name), a map column's value may also be read as a field
// (requestParameters.bucketName, matched ignoring case), and FROM accepts an
// unquoted event data store ID such as 5e2676f8-9fce-46ef-8142-3e36a94e6691,
// as CloudTrail Lake does.
package query
