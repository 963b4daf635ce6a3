package storage

import (
	"testing"

	cairnv1 "github.com/cairn-lake/cairn/proto/cairn/v1"
)

func TestAccounts(t *testing.T) {
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const day = int64(86400e9)
	ev := func(account, id string, at int64) *cairnv1.Event {
		return &cairnv1.Event{Raw: []byte(`{}`), EventId: id, Account: account, Region: "us-east-1", EventTimeUnixNano: at}
	}
	if _, err := db.ApplyIngest(1, []*cairnv1.Event{
		ev("222222222222", "a", 5*day), ev("111111111111", "b", 3*day+7), ev("222222222222", "c", 2*day),
		ev("111111111111", "d", 3*day+9), ev("222222222222", "a", 5*day), // a re-sent: not counted twice
	}); err != nil {
		t.Fatal(err)
	}
	got, err := db.Accounts()
	if err != nil {
		t.Fatal(err)
	}
	want := []AccountStats{
		{Account: "111111111111", Events: 2, First: 3*day + 7, Last: 3*day + 9},
		{Account: "222222222222", Events: 2, First: 2 * day, Last: 5 * day},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("account %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}
