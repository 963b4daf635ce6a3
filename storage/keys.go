package storage

// This file is the documentation of the key layout of a shard replica's Pebble
// DB. Every key the package writes is built by a constructor in this file, and
// every key it reads is parsed by the matching parse function.
//
// # Conventions
//
//   - The first byte of a key names its keyspace (the prefix).
//   - Integers are fixed-width big-endian, so byte order is numeric order.
//     Signed integers have their sign bit flipped (uint64(t) ^ 1<<63,
//     uint32(d) ^ 1<<31), so negative values sort before positive ones and
//     every int64 eventTime is representable: nothing is rejected for its time.
//   - A string is its bytes followed by a 0x00 terminator, except when it is
//     the last field of a key, where it runs to the end of the key. A keyed
//     string must not contain 0x00 (ValidateEvent rejects it); CloudTrail
//     never produces one.
//   - day is the UTC day of eventTime: floor(eventTime / 24h) as days since
//     1970-01-01, an int32 (encoded as above).
//   - Every iterator is bounded: LowerBound is the prefix, UpperBound is
//     keyUpperBound(prefix), the prefix's successor; a whole-DB scan uses
//     [0x00, 0xff).
//
// # Keyspaces
//
//	0x00 meta: small fixed keys, value uint64.
//	     0x00 0x01                                            → applied index
//	     0x00 0x02                                            → event count
//	     0x00 0x03                                            → key layout version
//	0x10 retired: the raw records of layouts 0 and 1, keyed like the
//	     summaries. Open moves them to 0x12 (see migrateRecords); nothing else
//	     reads or writes it.
//	0x11 summary: one per stored event, the lookup attributes without the raw
//	     bytes, so lookups filter without reading or parsing records. Its key
//	     is the event's key: the order of lookups and time-ordered scans.
//	     0x11 | day | account 0x00 | region 0x00 | eventTime uint64 | eventID
//	                                                          → summary (see appendSummary)
//	0x12 record: one per stored event.
//	     0x12 | day | account 0x00 | eventSource | eventName | region 0x00 |
//	     eventTime uint64 | eventID                           → record value: the raw
//	                                                          record without the
//	                                                          fields the key holds
//	                                                          (see record.go)
//	     eventSource and eventName are uvarint length | bytes. Records of
//	     the same API call sit together, so a block holds records of one
//	     shape, and zstd finds more to share: 199 instead of 246 bytes per
//	     record on one shard's share of the cluster ingest benchmark's
//	     load, 187 instead of 202 in BenchmarkApplyIngest. The record key
//	     is the summary key plus the summary's eventSource and eventName, so
//	     every reader that has the summary has the record key.
//	0x20 retired: the eventID index of layout 0, keyed day | account 0x00 |
//	     eventID. Open deletes it and builds 0x21 from the summaries (see
//	     rebuildDerived); nothing else reads or writes it.
//	0x21 eventID index: the way from an eventID to its events' keys.
//	     0x21 | day | eventIDHash(eventID) uint32 | account 0x00 |
//	     eventTime uint64 | region                            → (empty)
//	     An entry stands for the events of (account, eventTime, region)
//	     whose eventID has that hash, usually one: readers confirm each
//	     with the summary key it gives plus the eventID. With a 4-byte
//	     hash in place of the 36-character random eventID an entry takes
//	     about 13 bytes on disk instead of 34. The hash comes before the
//	     account, so a lookup by eventID alone is one seek per day, not
//	     one per account and day. A retention cut deletes an entry only
//	     when it deletes every event it stands for (cut.go).
//	0x30 eventName index: the API calls of each day, by eventName.
//	     0x30 | day | eventName 0x00 | account 0x00 | eventSource
//	                                                          → (empty)
//	     One entry per (day, eventName, account, eventSource) with stored
//	     events, not per event: the events it stands for are the records
//	     of one range of the record keyspace, day | account 0x00 |
//	     eventSource | eventName (appendRecordCallPrefix). The eventName
//	     comes first, so the calls of every account with one name on one
//	     day are one range. An account repeats its API calls all day: the
//	     cluster ingest benchmark's 500,000 events make 17,907 entries.
//	     ApplyIngest writes an entry unless it knows it is stored (see
//	     calls.go); a retention cut deletes it with the last event it
//	     stands for. An eventName that is empty or holds 0x00 has no entry
//	     (lookups on it scan the summaries). Layouts 1 to 5 kept one entry
//	     per event there, keyed like the lookup indexes below; Open
//	     rebuilds it.
//	0x31–0x38 lookup indexes, one keyspace per attribute:
//	     0x3n | day | value 0x00 | account 0x00 | eventTime uint64 | region
//	                                                          → (empty)
//	     An entry stands for the events of (value, account, eventTime,
//	     region): the summaries under day | account 0x00 | region 0x00 |
//	     eventTime whose attribute has that value, usually one. Readers walk
//	     those summaries and keep the events that match. Without the eventID
//	     (about 17 random bytes after compression) an entry takes about 7
//	     bytes instead of 36 on disk. A retention cut deletes an entry only
//	     when it deletes every event it stands for (cut.go).
//	     The value comes before the account, so the events of every account
//	     with one value on one day are one range. Within one (day, value,
//	     account), entries are in eventTime order, so a reverse scan yields an
//	     account's matching events newest first. Only 0x37 ErrorCode (one
//	     entry per event with an errorCode, about 3% of them) is written.
//	     An entry for every event and attribute (also 0x31 EventSource, 0x32
//	     Username, 0x33 AccessKeyId, 0x34 ResourceName, 0x35 ResourceType,
//	     0x36 ReadOnly, 0x38 SourceIPAddress, and the eventName index) was
//	     measured: it doubled the apply CPU (50 → 112 µs/event) and the disk
//	     (235 → 439 B/event), so those prefixes stay reserved and lookups on
//	     them scan the summaries. The eventName index of layouts 1 to 5, one
//	     entry per event like these, cost every replica a fourth memtable
//	     insert per event and 10.7 B per event on disk.
//	0x40 counts: how many stored events of an account's day share some
//	     attributes, so that queries that only count by those attributes
//	     read one entry per group instead of one summary per event.
//	     0x40 | day | account 0x00 | eventSource | eventName | eventCategory |
//	     readOnly | columns                                   → uvarint count
//	     The four strings are uvarint length | bytes; columns is
//	     Event.Columns & CountedColumns as a uvarint. A count that reaches 0
//	     is deleted. See counts.go.
//	0xff reserved: never written, so {0xff} bounds every keyspace.
//
// Every data key leads with its day, so new writes touch only the current
// days' key ranges, old days become immutable sstables, and retention deletes
// with one DeleteRange per keyspace: a whole day is [prefix|day,
// prefix|day+1), one account's day is [prefix|day|account 0x00,
// prefix|day|account 0x01) in the keyspaces led by day and account (summary,
// record, counts). The entries of one account's day in the eventID and
// lookup indexes are deleted one by one, unless the whole day goes.
//
// The dedup identity of an event is its key: (account, region, eventTime,
// eventID), the summary key. A re-sent CloudTrail event is the same record,
// so it has the same key and is found; a record that reuses an eventID at
// another time or in another region is another record, and is kept.
//
// Everything but the applied index is replicated state: two replicas that
// applied the same entries hold the same keys and values (see Digest).

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

// Keyspace prefixes. See the layout above.
const (
	prefixMeta    byte = 0x00
	prefixSummary byte = 0x11
	prefixRecord  byte = 0x12
	prefixEventID byte = 0x21
	// prefixRetiredRecord and prefixRetiredEventID are the records and
	// the eventID index of earlier versions.
	prefixRetiredRecord  byte = 0x10
	prefixRetiredEventID byte = 0x20
	prefixIndex          byte = 0x30 // + Attr
	prefixCalls          byte = prefixIndex + byte(attrEventName)
	prefixCounts         byte = 0x40
	prefixEnd            byte = 0xff // reserved, never written
)

// Meta keys: 0x00 | id.
var (
	appliedIndexKey = []byte{prefixMeta, 0x01}
	eventCountKey   = []byte{prefixMeta, 0x02}
	// layoutVersionKey holds the key layout version (see upgradeLayout).
	layoutVersionKey = []byte{prefixMeta, 0x03}
)

// Keyspace bounds for iterators.
var (
	summaryKeyspace = []byte{prefixSummary}
	recordKeyspace  = []byte{prefixRecord}
	eventIDKeyspace = []byte{prefixEventID}
	// [allKeysLower, allKeysUpper) holds every key the package writes.
	allKeysLower = []byte{prefixMeta}
	allKeysUpper = []byte{prefixEnd}
)

// errBadKey reports a key or value that does not parse. It means corruption or
// a bug, never bad input.
var errBadKey = errors.New("malformed key or value")

const nanosPerDay = 24 * 60 * 60 * 1_000_000_000

// dayOf returns the UTC day of t (unix nanoseconds): floor(t / 24h).
func dayOf(t int64) int32 {
	d := t / nanosPerDay
	if t%nanosPerDay < 0 {
		d--
	}
	return int32(d)
}

// keyUpperBound returns the smallest key greater than every key that starts
// with prefix (the prefix's successor), or nil if there is none.
func keyUpperBound(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		end[i]++
		if end[i] != 0 {
			return end[:i+1]
		}
	}
	return nil
}

// eventKey is the key of one stored event, which its summary is stored
// under. Its day is derived from eventTime.
type eventKey struct {
	account   string
	region    string
	eventTime int64 // unix nanoseconds
	eventID   string
}

// appendSummaryKey appends 0x11 | day | account 0x00 | region 0x00 | eventTime | eventID.
func appendSummaryKey[T string | []byte](dst []byte, account, region T, eventTime int64, eventID T) []byte {
	return append(appendSummaryPrefix(dst, account, region, eventTime), eventID...)
}

// appendSummaryPrefix appends 0x11 | day | account 0x00 | region 0x00 |
// eventTime: the prefix of the summaries a lookup index entry stands for.
func appendSummaryPrefix[T string | []byte](dst []byte, account, region T, eventTime int64) []byte {
	dst = append(dst, prefixSummary)
	dst = appendDay(dst, dayOf(eventTime))
	dst = appendString(dst, account)
	dst = appendString(dst, region)
	return appendTime(dst, eventTime)
}

// appendRecordKey appends 0x12 | day | account 0x00 | eventSource |
// eventName | region 0x00 | eventTime | eventID, the strings in the middle as
// uvarint length | bytes.
func appendRecordKey[T string | []byte](dst []byte, account, source, name, region T, eventTime int64, eventID T) []byte {
	dst = appendRecordCallPrefix(dst, dayOf(eventTime), account, source, name)
	dst = appendString(dst, region)
	dst = appendTime(dst, eventTime)
	return append(dst, eventID...)
}

// appendRecordCallPrefix appends 0x12 | day | account 0x00 | eventSource |
// eventName: the prefix of the records of one API call of one account on
// one day.
func appendRecordCallPrefix[T string | []byte](dst []byte, day int32, account, source, name T) []byte {
	dst = append(dst, prefixRecord)
	dst = appendDay(dst, day)
	dst = appendString(dst, account)
	dst = appendLenString(dst, source)
	return appendLenString(dst, name)
}

// parseEventKey parses a whole summary key.
func parseEventKey(src []byte) (eventKey, error) {
	b, err := splitEventKey(src)
	if err != nil {
		return eventKey{}, err
	}
	return eventKey{account: string(b.account), region: string(b.region), eventTime: b.eventTime, eventID: string(b.eventID)}, nil
}

// eventKeyBytes is an event key split into fields that alias the key.
type eventKeyBytes struct {
	account, region []byte
	eventTime       int64
	eventID         []byte
}

// splitEventKey parses a whole summary key, or a record key of earlier
// layouts (which had the same fields), without copying.
func splitEventKey(src []byte) (eventKeyBytes, error) {
	var k eventKeyBytes
	if len(src) < 1 || (src[0] != prefixSummary && src[0] != prefixRetiredRecord) {
		return k, fmt.Errorf("cannot parse event key %q: %w", src, errBadKey)
	}
	day, rest, err := parseDay(src[1:])
	if err != nil {
		return k, fmt.Errorf("cannot parse event key %q: %w", src, err)
	}
	if k.account, rest, err = parseBytes(rest); err != nil {
		return k, fmt.Errorf("cannot parse event key %q: %w", src, err)
	}
	return k, k.splitTail(src, day, rest)
}

// splitTail parses the region 0x00 | eventTime | eventID that end the
// summary and record keys into k. src is the whole key, for errors.
func (k *eventKeyBytes) splitTail(src []byte, day int32, rest []byte) error {
	var err error
	if k.region, rest, err = parseBytes(rest); err != nil {
		return fmt.Errorf("cannot parse event key %q: %w", src, err)
	}
	if k.eventTime, rest, err = parseTime(rest); err != nil {
		return fmt.Errorf("cannot parse event key %q: %w", src, err)
	}
	if dayOf(k.eventTime) != day {
		return fmt.Errorf("cannot parse event key %q: day does not match eventTime: %w", src, errBadKey)
	}
	k.eventID = rest
	return nil
}

// splitRecordKey parses a whole record key without copying.
func splitRecordKey(src []byte) (k eventKeyBytes, source, name []byte, err error) {
	if len(src) < 1 || src[0] != prefixRecord {
		return k, nil, nil, fmt.Errorf("cannot parse record key %q: %w", src, errBadKey)
	}
	day, rest, err := parseDay(src[1:])
	if err == nil {
		k.account, rest, err = parseBytes(rest)
	}
	if err == nil {
		source, rest, err = parseLenBytes(rest)
	}
	if err == nil {
		name, rest, err = parseLenBytes(rest)
	}
	if err != nil {
		return k, nil, nil, fmt.Errorf("cannot parse record key %q: %w", src, err)
	}
	return k, source, name, k.splitTail(src, day, rest)
}

// eventIDHash is the hash of an eventID that eventID index keys hold:
// 32-bit FNV-1a. It is part of the layout: every replica and version must
// compute the same.
func eventIDHash[T string | []byte](eventID T) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(eventID); i++ {
		h = (h ^ uint32(eventID[i])) * 16777619
	}
	return h
}

// appendEventIDKey appends the eventID index key of an event: 0x21 | day |
// eventIDHash(eventID) uint32 | account 0x00 | eventTime | region.
func appendEventIDKey[T string | []byte](dst []byte, account, region T, eventTime int64, eventID T) []byte {
	dst = appendEventIDPrefix(dst, dayOf(eventTime), eventID)
	dst = appendString(dst, account)
	dst = appendTime(dst, eventTime)
	return append(dst, region...)
}

// appendEventIDPrefix appends 0x21 | day | eventIDHash(eventID): the prefix
// of the entries of every account for eventID on day (and of the eventIDs
// that share its hash).
func appendEventIDPrefix[T string | []byte](dst []byte, day int32, eventID T) []byte {
	dst = append(dst, prefixEventID)
	dst = appendDay(dst, day)
	return binary.BigEndian.AppendUint32(dst, eventIDHash(eventID))
}

// eventIDEntry is an eventID index key split into fields that alias the key.
type eventIDEntry struct {
	hash            uint32
	account, region []byte
	eventTime       int64
}

// splitEventIDKey parses a whole key built by appendEventIDKey.
func splitEventIDKey(src []byte) (eventIDEntry, error) {
	var k eventIDEntry
	if len(src) < 1 || src[0] != prefixEventID {
		return k, fmt.Errorf("cannot parse eventID key %q: %w", src, errBadKey)
	}
	day, rest, err := parseDay(src[1:])
	if err == nil && len(rest) < 4 {
		err = fmt.Errorf("cannot parse hash: %w", errBadKey)
	}
	if err == nil {
		k.hash = binary.BigEndian.Uint32(rest)
		k.account, k.eventTime, k.region, err = parseEventTail(rest[4:], day)
	}
	if err != nil {
		return k, fmt.Errorf("cannot parse eventID key %q: %w", src, err)
	}
	return k, nil
}

// parseEventTail parses the account | eventTime | region that end the
// eventID and lookup index keys, and checks that eventTime falls on day.
// The results alias src.
func parseEventTail(src []byte, day int32) (account []byte, eventTime int64, region []byte, err error) {
	account, rest, err := parseBytes(src)
	if err == nil {
		eventTime, rest, err = parseTime(rest)
	}
	if err == nil && dayOf(eventTime) != day {
		err = fmt.Errorf("day does not match eventTime: %w", errBadKey)
	}
	return account, eventTime, rest, err
}

// attr names a lookup index; its keyspace is prefixIndex+attr. Only the
// errorCode index is written (see the layout above).
type attr byte

const (
	attrEventName attr = 0x0 // layouts 1 to 5; the eventName index is prefixCalls since layout 6
	attrErrorCode attr = 0x7
)

// indexedAttrs are the indexes written, each with the field it indexes, as
// an event gives it at ingest and as its summary gives it later.
var indexedAttrs = [...]struct {
	attr      attr
	ofEvent   func(*cairnv1.Event) string
	ofSummary func(*summary) []byte
}{
	{attrErrorCode, (*cairnv1.Event).GetErrorCode, func(s *summary) []byte { return s.errorCode }},
}

// indexable reports whether v is indexed: it is not empty and, being keyed,
// holds no 0x00.
func indexable[T string | []byte](v T) bool {
	for i := range len(v) {
		if v[i] == 0 {
			return false
		}
	}
	return len(v) > 0
}

// indexKey is a lookup index entry; its value is empty.
type indexKey struct {
	attr      attr
	account   string
	value     string
	eventTime int64
	region    string
}

// appendIndexValuePrefix appends 0x3n | day | value 0x00: the prefix of the
// entries of every account for one value on one day.
func appendIndexValuePrefix(dst []byte, a attr, day int32, value string) []byte {
	dst = append(dst, prefixIndex+byte(a))
	dst = appendDay(dst, day)
	return appendString(dst, value)
}

// appendIndexPrefix appends 0x3n | day | value 0x00 | account 0x00: the
// prefix of one account's entries for one value on one day.
func appendIndexPrefix(dst []byte, a attr, day int32, value, account string) []byte {
	return appendString(appendIndexValuePrefix(dst, a, day, value), account)
}

// appendIndexKey appends 0x3n | day | value 0x00 | account 0x00 | eventTime | region.
func appendIndexKey(dst []byte, k indexKey) []byte {
	dst = appendIndexPrefix(dst, k.attr, dayOf(k.eventTime), k.value, k.account)
	dst = appendTime(dst, k.eventTime)
	return append(dst, k.region...)
}

// indexKeyBytes is an index key split into fields that alias the key.
type indexKeyBytes struct {
	day                    int32
	account, value, region []byte
	eventTime              int64
}

// splitIndexKey parses a whole key built by appendIndexKey without copying.
func splitIndexKey(src []byte) (indexKeyBytes, error) {
	var k indexKeyBytes
	if len(src) < 1 || src[0] != prefixIndex+byte(attrErrorCode) {
		return k, fmt.Errorf("cannot parse index key %q: %w", src, errBadKey)
	}
	day, rest, err := parseDay(src[1:])
	if err == nil {
		k.day = day
		k.value, rest, err = parseBytes(rest)
	}
	if err == nil {
		k.account, k.eventTime, k.region, err = parseEventTail(rest, day)
	}
	if err != nil {
		return k, fmt.Errorf("cannot parse index key %q: %w", src, err)
	}
	return k, nil
}

// appendCallKey appends the eventName index key 0x30 | day | eventName 0x00 |
// account 0x00 | eventSource. name must be indexable.
func appendCallKey[T string | []byte](dst []byte, day int32, name, account, source T) []byte {
	dst = appendString(appendCallNamePrefix(dst, day, name), account)
	return append(dst, source...)
}

// appendCallNamePrefix appends 0x30 | day | eventName 0x00: the prefix of
// the entries of every account for one eventName on one day.
func appendCallNamePrefix[T string | []byte](dst []byte, day int32, name T) []byte {
	dst = append(dst, prefixCalls)
	dst = appendDay(dst, day)
	return appendString(dst, name)
}

// callKey is an eventName index key, without its day, split into fields
// that alias the key.
type callKey struct{ name, account, source []byte }

// splitCallKey parses a whole key built by appendCallKey without copying.
func splitCallKey(src []byte) (callKey, error) {
	var k callKey
	if len(src) < 1 || src[0] != prefixCalls {
		return k, fmt.Errorf("cannot parse eventName index key %q: %w", src, errBadKey)
	}
	_, rest, err := parseDay(src[1:])
	if err == nil {
		k.name, rest, err = parseBytes(rest)
	}
	if err == nil {
		k.account, rest, err = parseBytes(rest)
	}
	if err != nil {
		return k, fmt.Errorf("cannot parse eventName index key %q: %w", src, err)
	}
	k.source = rest
	return k, nil
}

// appendUint64 appends v as 8 bytes big-endian (the value of a meta key).
func appendUint64(dst []byte, v uint64) []byte {
	return binary.BigEndian.AppendUint64(dst, v)
}

// parseUint64 parses a whole value built by appendUint64.
func parseUint64(src []byte) (uint64, error) {
	if len(src) != 8 {
		return 0, fmt.Errorf("cannot parse uint64 %q: %w", src, errBadKey)
	}
	return binary.BigEndian.Uint64(src), nil
}

// appendDay appends d as 4 bytes big-endian with the sign bit flipped.
func appendDay(dst []byte, d int32) []byte {
	return binary.BigEndian.AppendUint32(dst, uint32(d)^(1<<31))
}

func parseDay(src []byte) (d int32, rest []byte, err error) {
	if len(src) < 4 {
		return 0, src, fmt.Errorf("cannot parse day: %w", errBadKey)
	}
	return int32(binary.BigEndian.Uint32(src) ^ (1 << 31)), src[4:], nil
}

// appendTime appends t (unix nanoseconds) as 8 bytes big-endian with the sign
// bit flipped.
func appendTime(dst []byte, t int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(t)^(1<<63))
}

func parseTime(src []byte) (t int64, rest []byte, err error) {
	if len(src) < 8 {
		return 0, src, fmt.Errorf("cannot parse time: %w", errBadKey)
	}
	return int64(binary.BigEndian.Uint64(src) ^ (1 << 63)), src[8:], nil
}

// appendString appends s and its 0x00 terminator. s must not contain 0x00.
func appendString[T string | []byte](dst []byte, s T) []byte {
	dst = append(dst, s...)
	return append(dst, 0)
}

// parseBytes parses a string written by appendString; b aliases src.
func parseBytes(src []byte) (b, rest []byte, err error) {
	n := bytes.IndexByte(src, 0)
	if n < 0 {
		return nil, src, fmt.Errorf("cannot parse string: no terminator: %w", errBadKey)
	}
	return src[:n], src[n+1:], nil
}

// summary is a decoded summary value: the lookup attributes of one event.
// Its fields alias the encoded bytes, so decoding allocates nothing: scans
// decode one per event in range.
type summary struct {
	eventName, eventSource, username, accessKeyID, errorCode, sourceIP []byte
	readOnly                                                           []byte // "true", "false" or empty
	resources                                                          []byte // encoded; see hasResource
	nResources                                                         uint64
	columns                                                            uint32 // Event.Columns
	category                                                           []byte // eventCategory
}

// appendSummary appends e's summary: eventName, eventSource, username,
// accessKeyId, errorCode, sourceIPAddress, readOnly, each as uvarint length |
// bytes, then uvarint n | n × (name, type) for resources[], then uvarint
// columns (Event.Columns), then eventCategory as uvarint length | bytes.
// Summaries written before the last two existed end early and read as
// columns 0 and category "".
func appendSummary(dst []byte, e *cairnv1.Event) []byte {
	for _, f := range [...]string{e.EventName, e.EventSource, e.Username, e.AccessKeyId, e.ErrorCode, e.SourceIp, e.ReadOnly} {
		dst = appendLenString(dst, f)
	}
	dst = binary.AppendUvarint(dst, uint64(len(e.Resources)))
	for _, r := range e.Resources {
		dst = appendLenString(dst, r.GetName())
		dst = appendLenString(dst, r.GetType())
	}
	dst = binary.AppendUvarint(dst, uint64(e.Columns))
	return appendLenString(dst, e.EventCategory)
}

// parseSummary decodes a whole value built by appendSummary. The result
// aliases src.
func parseSummary(src []byte) (summary, error) {
	var s summary
	rest := src
	var err error
	for _, f := range [...]*[]byte{&s.eventName, &s.eventSource, &s.username, &s.accessKeyID, &s.errorCode, &s.sourceIP, &s.readOnly} {
		if *f, rest, err = parseLenBytes(rest); err != nil {
			return s, fmt.Errorf("cannot parse summary: %w", err)
		}
	}
	n, k := binary.Uvarint(rest)
	if k <= 0 || n > uint64(len(rest)) {
		return s, fmt.Errorf("cannot parse summary: resource count: %w", errBadKey)
	}
	s.nResources, s.resources = n, rest[k:]
	// Check the resources now, so that hasResource cannot meet bad bytes.
	rest = s.resources
	for range 2 * n {
		if _, rest, err = parseLenBytes(rest); err != nil {
			return s, fmt.Errorf("cannot parse summary: %w", err)
		}
	}
	s.resources = s.resources[:len(s.resources)-len(rest)]
	if len(rest) != 0 {
		columns, k := binary.Uvarint(rest)
		if k <= 0 || columns > math.MaxUint32 {
			return s, fmt.Errorf("cannot parse summary: columns: %w", errBadKey)
		}
		s.columns, rest = uint32(columns), rest[k:]
	}
	if len(rest) != 0 {
		if s.category, rest, err = parseLenBytes(rest); err != nil {
			return s, fmt.Errorf("cannot parse summary: category: %w", err)
		}
	}
	if len(rest) != 0 {
		return s, fmt.Errorf("cannot parse summary: trailing bytes: %w", errBadKey)
	}
	return s, nil
}

// hasResource reports whether a resource's name (field 0) or type (field 1)
// equals v.
func (s *summary) hasResource(field int, v string) bool {
	rest := s.resources
	for range s.nResources {
		var pair [2][]byte
		pair[0], rest, _ = parseLenBytes(rest)
		pair[1], rest, _ = parseLenBytes(rest)
		if string(pair[field]) == v {
			return true
		}
	}
	return false
}

func appendLenString[T string | []byte](dst []byte, s T) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func parseLenBytes(src []byte) ([]byte, []byte, error) {
	n, k := binary.Uvarint(src)
	if k <= 0 || n > uint64(len(src)-k) {
		return nil, src, fmt.Errorf("bad string length: %w", errBadKey)
	}
	return src[k : k+int(n)], src[k+int(n):], nil
}

// nextAccountKey is the first key after every key of account on day in the
// keyspace prefix: prefix | day | account 0x01.
func nextAccountKey(prefix byte, day int32, account string) []byte {
	k := appendString(appendDay([]byte{prefix}, day), account)
	k[len(k)-1] = 1
	return k
}
