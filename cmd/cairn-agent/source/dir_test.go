package source

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Paths of the test tree, in the layout CloudTrail writes to S3, with an
// organization trail's o-… level for two accounts.
const (
	orgFile    = "AWSLogs/o-abc123def4/222222222222/CloudTrail/us-east-1/2026/03/01/222222222222_CloudTrail_us-east-1_20260301T0955Z_Org1aaaaaaaaaaaa.json.gz"
	euFile     = "AWSLogs/111111111111/CloudTrail/eu-west-1/2026/03/01/111111111111_CloudTrail_eu-west-1_20260301T1000Z_Bbbbbbbbbbbbbbbb.json.gz"
	usFile     = "AWSLogs/111111111111/CloudTrail/us-east-1/2026/03/01/111111111111_CloudTrail_us-east-1_20260301T1000Z_Cccccccccccccccc.json.gz"
	manualFile = "exports/manual.json"
	apFile     = "AWSLogs/o-abc123def4/333333333333/CloudTrail/ap-southeast-2/2026/03/01/333333333333_CloudTrail_ap-southeast-2_20260301T1005Z_Eeeeeeeeeeeeeeee.json.gz"
	arrayFile  = "exports/stratus.json"
	emptyFile  = "AWSLogs/111111111111/CloudTrail/us-east-1/2026/03/01/111111111111_CloudTrail_us-east-1_20260301T1010Z_Empty00000000000.json.gz"
	linesFile  = "exports/logstash.jsonl"
	corruptGz  = "AWSLogs/111111111111/CloudTrail/us-east-1/2026/03/01/111111111111_CloudTrail_us-east-1_20260301T1015Z_Corrupt000000000.json.gz"
	truncJSON  = "AWSLogs/111111111111/CloudTrail/us-west-2/2026/03/01/111111111111_CloudTrail_us-west-2_20260301T1020Z_Truncated0000000.json"
	truncGz    = "AWSLogs/111111111111/CloudTrail/us-west-2/2026/03/01/111111111111_CloudTrail_us-west-2_20260301T1025Z_TruncatedGzip000.json.gz"
	digestDir  = "AWSLogs/111111111111/CloudTrail-Digest/us-east-1/2026/03/01/digest.json.gz"
	digestName = "digests/111111111111_CloudTrail-Digest_eu-west-1_20260301T110000Z.json.gz"
	csvFile    = "exports/report.csv"
	readme     = "README"
	cwFile     = "exports/cloudwatch.json"
	digestBody = "exports/digest-body.json"
)

// treeIDs are the eventIDs the test tree yields, in delivery order.
var treeIDs = []string{"a1", "a2", "a3", "b1", "c1", "c2", "d1", "e1", "f1", "f2", "g1", "g2", "h1", "h2", "i1", "i2"}

// treeFiles are the files of the test tree that are not hidden, in delivery
// order: what Completed reports after a full read.
var treeFiles = []string{
	orgFile, euFile, usFile, manualFile, apFile, arrayFile, emptyFile, linesFile, corruptGz, truncJSON, truncGz,
	digestDir, digestName, csvFile, readme, cwFile, digestBody,
}

// writeTree builds the test tree below a new temporary directory. Files whose
// names carry a delivery time get mtimes in the opposite order, so that
// ordering by mtime instead would show.
func writeTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	at := func(hhmm string) time.Time {
		ts, err := time.Parse("20060102T1504Z", "20260301T"+hhmm+"Z")
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	late := func(i int) time.Time {
		return time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC).Add(-time.Duration(i) * time.Minute)
	}

	writeFile(t, root, orgFile, late(1), gzipBytes(t, logFile(rec("a1", "222222222222", "us-east-1"), rec("a2", "222222222222", "us-east-1"), rec("a3", "222222222222", "us-east-1"))))
	writeFile(t, root, euFile, late(2), gzipBytes(t, logFile(rec("b1", "111111111111", "eu-west-1"))))
	writeFile(t, root, usFile, late(3), gzipBytes(t, logFile(rec("c1", "111111111111", "us-east-1"), rec("c2", "111111111111", "us-east-1"))))
	writeFile(t, root, manualFile, at("1002"), []byte("{\n  \"Records\": [\n    "+rec("d1", "111111111111", "us-east-1")+"\n  ]\n}\n"))
	// The name says 333333333333, the record another account: read as it is.
	writeFile(t, root, apFile, late(4), gzipBytes(t, logFile(rec("e1", "444444444444", "ap-southeast-2"))))
	writeFile(t, root, arrayFile, at("1007"), []byte("[\n  "+rec("f1", "111111111111", "apiso-centralnorth-2r")+",\n  "+rec("f2", "111111111111", "us-east-1")+"\n]\n"))
	writeFile(t, root, emptyFile, late(5), gzipBytes(t, []byte(`{"Records":[]}`)))
	writeFile(t, root, linesFile, at("1012"), []byte(
		`{"@timestamp":"2026-03-01T10:12:00Z","eventID":"g1","eventName":"GetObject"}`+"\n"+
			`{"@timestamp":"2026-03-01T10:12:01Z","eventID":"g2","eventName":"PutObject"}`+"\n"))
	writeFile(t, root, corruptGz, late(6), append([]byte{0x1f, 0x8b}, "this is not a gzip stream"...))
	writeFile(t, root, truncJSON, late(7), []byte(`{"Records":[`+rec("h1", "111111111111", "us-west-2")+`,`+rec("h2", "111111111111", "us-west-2")+`,{"eventVersion":"1.08","eventID":"h3","eventT`))
	writeFile(t, root, truncGz, late(8), truncatedGzip(t, rec("i1", "111111111111", "us-west-2"), rec("i2", "111111111111", "us-west-2"), rec("i3", "111111111111", "us-west-2")))
	writeFile(t, root, digestDir, at("1030"), gzipBytes(t, []byte(`{"awsAccountId":"111111111111","digestStartTime":"2026-03-01T09:00:00Z"}`)))
	writeFile(t, root, digestName, at("1031"), gzipBytes(t, []byte(`{"awsAccountId":"111111111111","digestStartTime":"2026-03-01T10:00:00Z"}`)))
	writeFile(t, root, csvFile, at("1032"), []byte("eventID,eventName\nx1,GetObject\n"))
	writeFile(t, root, readme, at("1033"), []byte("CloudTrail logs synced from S3.\n"))
	writeFile(t, root, cwFile, at("1034"), []byte(`{"messageType":"DATA_MESSAGE","owner":"111111111111","logEvents":[{"id":"1","message":"{\"eventID\":\"x2\"}"}]}`))
	writeFile(t, root, digestBody, at("1035"), []byte(`{"awsAccountId":"111111111111","digestStartTime":"2026-03-01T10:00:00Z","logFiles":[]}`))

	// Hidden files and directories, and a symlink that would loop.
	writeFile(t, root, ".DS_Store", at("0900"), []byte{0, 0, 0, 1})
	writeFile(t, root, ".sync/partial.json.gz", at("0900"), gzipBytes(t, logFile(rec("z1", "111111111111", "us-east-1"))))
	writeFile(t, root, "exports/.manual.json.swp", at("0900"), []byte(rec("z2", "111111111111", "us-east-1")))
	if err := os.Symlink("..", filepath.Join(root, "AWSLogs", "loop")); err != nil {
		t.Fatal(err)
	}
	return root
}

// treeNotes are the notes a full read of the test tree gives, in order: each
// is a path and a phrase of the note's reason.
var treeNotes = [][2]string{
	{"AWSLogs/loop", "symlink to a directory"},
	{corruptGz, "gzip"},
	{truncJSON, "unexpected EOF (near byte 328); 2 records were read before the error"},
	{truncGz, "unexpected EOF (near byte 328); 2 records were read before the error"},
	{digestDir, "digest file"},
	{digestName, "digest file"},
	{csvFile, "not a CloudTrail log file name"},
	{readme, "not a CloudTrail log file name"},
	{cwFile, "not CloudTrail records"},
	{digestBody, "not CloudTrail records"},
}

func TestDirReadsTree(t *testing.T) {
	root := writeTree(t)
	var notes noteLog
	d := mustOpenDir(t, context.Background(), root, DirOptions{Note: notes.add})

	// Position and Completed follow the reading: a file is completed only
	// once Next has gone past its last record.
	for i := range 3 {
		mustNextID(t, d, treeIDs[i])
		if got, want := d.Position(), (Position{File: orgFile, Records: int64(i + 1)}); got != want {
			t.Fatalf("Position after %d records = %+v, want %+v", i+1, got, want)
		}
		if got := d.Completed(); len(got) != 0 {
			t.Fatalf("Completed while reading the first file = %v", got)
		}
	}
	mustNextID(t, d, "b1")
	if got := d.Completed(); !slices.Equal(got, []string{orgFile}) {
		t.Fatalf("Completed after the first file = %v, want [%s]", got, orgFile)
	}
	if got, want := d.Position(), (Position{File: euFile, Records: 1}); got != want {
		t.Fatalf("Position = %+v, want %+v", got, want)
	}

	got := append(slices.Clone(treeIDs[:4]), mustReadIDs(t, d)...)
	if !slices.Equal(got, treeIDs) {
		t.Fatalf("eventIDs:\n got %v\nwant %v", got, treeIDs)
	}
	if got := d.Completed(); !slices.Equal(got, treeFiles[1:]) {
		t.Fatalf("Completed:\n got %v\nwant %v", got, treeFiles[1:])
	}
	notes.assert(t, treeNotes)
	want := DirStats{FilesRead: 8, FilesFailed: 3, DigestsSkipped: 2, OthersSkipped: 4, Records: int64(len(treeIDs))}
	if got := d.Stats(); got != want {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
	if _, err := d.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("Next after the end: %v, want io.EOF", err)
	}
}

func TestDirResume(t *testing.T) {
	root := writeTree(t)
	done := func(rel string) bool { return rel == orgFile || rel == euFile }

	t.Run("done files and a partly read one", func(t *testing.T) {
		var notes noteLog
		resume := Position{File: usFile, Records: 1}
		d := mustOpenDir(t, context.Background(), root, DirOptions{Done: done, Resume: resume, Note: notes.add})
		if got := d.Position(); got != resume {
			t.Fatalf("Position before reading = %+v, want %+v", got, resume)
		}
		mustNextID(t, d, "c2")
		if got, want := d.Position(), (Position{File: usFile, Records: 2}); got != want {
			t.Fatalf("Position = %+v, want %+v", got, want)
		}
		got := append([]string{"c2"}, mustReadIDs(t, d)...)
		if want := treeIDs[5:]; !slices.Equal(got, want) {
			t.Fatalf("eventIDs:\n got %v\nwant %v", got, want)
		}
		if got := d.Completed(); !slices.Equal(got, treeFiles[2:]) {
			t.Fatalf("Completed:\n got %v\nwant %v", got, treeFiles[2:])
		}
		notes.assert(t, treeNotes)
		st := d.Stats()
		if st.AlreadyDone != 2 || st.FilesRead != 6 || st.Records != int64(len(treeIDs)-5) {
			t.Fatalf("Stats = %+v, want 2 done, 6 read, %d records", st, len(treeIDs)-5)
		}
	})
	t.Run("the resumed file is done", func(t *testing.T) {
		var notes noteLog
		d := mustOpenDir(t, context.Background(), root, DirOptions{Done: done, Resume: Position{File: euFile, Records: 1}, Note: notes.add})
		if got := mustReadIDs(t, d); !slices.Equal(got, treeIDs[4:]) {
			t.Fatalf("eventIDs:\n got %v\nwant %v", got, treeIDs[4:])
		}
		notes.assert(t, treeNotes)
	})
	t.Run("the resumed file is gone", func(t *testing.T) {
		var notes noteLog
		d := mustOpenDir(t, context.Background(), root, DirOptions{Done: done, Resume: Position{File: "gone.json.gz", Records: 7}, Note: notes.add})
		if got := mustReadIDs(t, d); !slices.Equal(got, treeIDs[4:]) {
			t.Fatalf("eventIDs:\n got %v\nwant %v", got, treeIDs[4:])
		}
		want := slices.Insert(slices.Clone(treeNotes), 1, [2]string{"gone.json.gz", "no such file"}) // after the walk's note
		notes.assert(t, want)
	})
	t.Run("the resumed file is shorter", func(t *testing.T) {
		var notes noteLog
		d := mustOpenDir(t, context.Background(), root, DirOptions{Done: done, Resume: Position{File: usFile, Records: 5}, Note: notes.add})
		if got := mustReadIDs(t, d); !slices.Equal(got, treeIDs[6:]) {
			t.Fatalf("eventIDs:\n got %v\nwant %v", got, treeIDs[6:])
		}
		if got := d.Completed(); !slices.Equal(got, treeFiles[2:]) {
			t.Fatalf("Completed:\n got %v\nwant %v", got, treeFiles[2:])
		}
		want := slices.Insert(slices.Clone(treeNotes), 1, [2]string{usFile, "it has only 2 records"})
		notes.assert(t, want)
	})
}

func TestOpenDirErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "log.json")
	mustWrite(t, file, []byte(recA))
	for _, tc := range []struct{ root, wantErr string }{
		{filepath.Join(dir, "missing"), "no such file or directory"},
		{file, "not a directory"},
	} {
		_, err := OpenDir(context.Background(), tc.root, DirOptions{})
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("OpenDir(%s) = %v, want an error containing %q", tc.root, err, tc.wantErr)
		}
	}
}

func TestDirCanceled(t *testing.T) {
	root := writeTree(t)
	ctx, cancel := context.WithCancel(context.Background())
	d := mustOpenDir(t, ctx, root, DirOptions{})
	mustNextID(t, d, "a1")
	cancel()
	if _, err := d.Next(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next after cancel: %v, want context.Canceled", err)
	}
}

func TestDirUnreadable(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "a/locked.json", time.Now(), []byte(rec("l1", "111111111111", "us-east-1")))
	writeFile(t, root, "b/open.json", time.Now(), []byte(rec("o1", "111111111111", "us-east-1")))
	writeFile(t, root, "c/inside.json", time.Now(), []byte(rec("x1", "111111111111", "us-east-1")))
	locked, lockedDir := filepath.Join(root, "a", "locked.json"), filepath.Join(root, "c")
	for _, p := range []string{locked, lockedDir} {
		if err := os.Chmod(p, 0); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = os.Chmod(lockedDir, 0o700) })
	if f, err := os.Open(locked); err == nil {
		_ = f.Close()
		t.Skip("permissions are not enforced for this user")
	}

	var notes noteLog
	d := mustOpenDir(t, context.Background(), root, DirOptions{Note: notes.add})
	if got := mustReadIDs(t, d); !slices.Equal(got, []string{"o1"}) {
		t.Fatalf("eventIDs = %v, want [o1]", got)
	}
	notes.assert(t, [][2]string{{"c", "permission denied"}, {"a/locked.json", "permission denied"}})
	if st := d.Stats(); st.FilesFailed != 1 || st.FilesRead != 1 {
		t.Fatalf("Stats = %+v, want 1 read, 1 failed", st)
	}
}

func TestDeliveryTime(t *testing.T) {
	mtime := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		name string
		want time.Time
	}{
		{"123456789012_CloudTrail_us-east-1_20230710T1220Z_WMiHxZgr5Hdd6UDc.json.gz", time.Date(2023, 7, 10, 12, 20, 0, 0, time.UTC)},
		{"123456789012_CloudTrail_us-east-1_20230710T1220Z_x.json", time.Date(2023, 7, 10, 12, 20, 0, 0, time.UTC)},
		{"123456789012_CloudTrail-Digest_us-east-1_20230710T122000Z.json.gz", mtime},
		{"123456789012_CloudTrail_us-east-1_20231310T1220Z_x.json", mtime}, // month 13
		{"export.json", mtime},
	} {
		if got := deliveryTime(tc.name, mtime); !got.Equal(tc.want) {
			t.Errorf("deliveryTime(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// rec is a small CloudTrail record.
func rec(id, account, region string) string {
	return fmt.Sprintf(`{"eventVersion":"1.08","eventID":%q,"eventTime":"2026-03-01T10:00:00Z","eventName":"GetObject","awsRegion":%q,"recipientAccountId":%q}`,
		id, region, account)
}

// logFile is a CloudTrail log file object holding recs.
func logFile(recs ...string) []byte {
	return []byte(`{"Records":[` + strings.Join(recs, ",") + `]}`)
}

// truncatedGzip is a gzip log file cut off in the middle of its last record,
// as a download that stopped half-way leaves it. The records before the last
// are flushed, so their bytes can be decompressed.
func truncatedGzip(t *testing.T, recs ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	last := len(recs) - 1
	if _, err := zw.Write([]byte(`{"Records":[` + strings.Join(recs[:last], ",") + `,`)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Flush(); err != nil {
		t.Fatal(err)
	}
	cut := buf.Len()
	if _, err := zw.Write([]byte(recs[last] + `]}`)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()[:cut+4] // a few bytes into the block holding the last record
}

func writeFile(t *testing.T, root, rel string, mtime time.Time, data []byte) {
	t.Helper()
	path := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, path, data)
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func mustOpenDir(t *testing.T, ctx context.Context, root string, opts DirOptions) *Dir {
	t.Helper()
	d, err := OpenDir(ctx, root, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// eventID returns the eventID of a record, failing the test if it has none.
func eventID(t *testing.T, rec []byte) string {
	t.Helper()
	var r struct{ EventID string }
	if err := json.Unmarshal(rec, &r); err != nil || r.EventID == "" {
		t.Fatalf("record without an eventID (%v): %s", err, rec)
	}
	return r.EventID
}

func mustNextID(t *testing.T, r Reader, want string) {
	t.Helper()
	rec, err := r.Next()
	if err != nil {
		t.Fatalf("Next: %v, want record %s", err, want)
	}
	if got := eventID(t, rec); got != want {
		t.Fatalf("Next = record %s, want %s", got, want)
	}
}

func mustReadIDs(t *testing.T, r Reader) []string {
	t.Helper()
	var ids []string
	for _, rec := range mustReadAll(t, r) {
		ids = append(ids, eventID(t, []byte(rec)))
	}
	return ids
}

// noteLog collects notes; add may be called from any goroutine.
type noteLog struct {
	mu    sync.Mutex
	notes []string
}

func (l *noteLog) add(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.notes = append(l.notes, msg)
}

func (l *noteLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.notes)
}

// assert checks that the notes are, in order, one per want entry, each
// naming the entry's path and containing its phrase.
func (l *noteLog) assert(t *testing.T, want [][2]string) {
	t.Helper()
	got := l.all()
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			t.Errorf("note %d missing: want one about %s containing %q", i, want[i][0], want[i][1])
		case i >= len(want):
			t.Errorf("note %d unexpected: %s", i, got[i])
		case !strings.Contains(got[i], want[i][0]+":") && !strings.Contains(got[i], want[i][0]+" ") ||
			!strings.Contains(got[i], want[i][1]):
			t.Errorf("note %d = %q\nwant one about %s containing %q", i, got[i], want[i][0], want[i][1])
		}
	}
}
