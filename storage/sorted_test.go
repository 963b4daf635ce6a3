package storage

import (
	"fmt"
	"slices"
	"testing"
)

func TestSortedWritesFlushInKeyOrder(t *testing.T) {
	db := mustOpen(t, t.TempDir(), Options{})
	var w sortedWrites
	for round := range 2 { // the second round reuses w's buffers
		id := fmt.Sprintf("id-%d", round)
		w.set([]byte("c"), []byte("c-value"))
		w.setRecord([]byte("a"), []byte(`{"eventID":"`+id+`","x":1}`), &recordKey[string]{eventID: id})
		w.setString([]byte("b"), "b-value")
		w.set([]byte("a"), []byte("a-again")) // equal keys keep their order
		w.set([]byte("ab"), nil)

		b := db.pdb.NewBatch()
		if err := w.flush(b); err != nil {
			t.Fatal(err)
		}
		var got []string
		for r := b.Reader(); ; {
			_, k, v, ok, err := r.Next()
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			got = append(got, string(k)+"="+string(v))
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		// 0x64: eventID (field 4) goes back after 12 bytes.
		want := []string{"a=\x01\x01\x64{\"eventID\":\"\",\"x\":1}", "a=a-again", "ab=", "b=b-value", "c=c-value"}
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: batch holds %q, want %q", round, got, want)
		}
		if len(w.writes) != 0 || len(w.buf) != 0 {
			t.Fatalf("round %d: flush left %d writes and %d bytes", round, len(w.writes), len(w.buf))
		}
	}
}
