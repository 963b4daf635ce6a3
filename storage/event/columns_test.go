package event

import (
	"fmt"
	"testing"

	"github.com/cairn-lake/cairn/storage"
)

func TestParseColumns(t *testing.T) {
	const base = `"eventID":"e","eventName":"n","eventSource":"s"`
	exact := ColumnsExact
	for _, tt := range []struct {
		fields string
		want   uint32
	}{
		{`"eventTime":"2024-01-02T03:04:05Z","recipientAccountId":"111122223333"`, exact | HasRecipientAccountID},
		{`"eventTime":"2024-01-02T03:04:05Z","recipientAccountId":"111122223333","awsRegion":"us-east-1","errorCode":"AccessDenied","sourceIPAddress":"1.2.3.4"`,
			exact | HasRecipientAccountID | HasAWSRegion | HasErrorCode | HasSourceIPAddress},
		// Empty strings are values, null is NULL.
		{`"eventTime":"2024-01-02T03:04:05Z","recipientAccountId":"1","awsRegion":"","errorCode":"","sourceIPAddress":null`,
			exact | HasRecipientAccountID | HasAWSRegion | HasErrorCode},
		// The account from userIdentity: recipientAccountId is NULL.
		{`"eventTime":"2024-01-02T03:04:05Z","userIdentity":{"accountId":"1"}`, exact},
		{`"eventTime":"2024-01-02T03:04:05Z","recipientAccountId":null,"userIdentity":{"accountId":"1"}`, exact},
		// An empty recipientAccountId is a column the Event does not hold.
		{`"eventTime":"2024-01-02T03:04:05Z","recipientAccountId":"","userIdentity":{"accountId":"1"}`, 0},
		{`"eventTime":"2024-01-02T03:04:05Z","recipientAccountId":"1","errorCode":5`, 0},
		{`"eventTime":"2024-01-02T03:04:05Z","recipientAccountId":"1","sourceIPAddress":{"a":1}`, 0},
		{`"eventTime":"2024-01-02T03:04:05.5Z","recipientAccountId":"1"`, 0},
		{`"eventTime":"2024-01-02T03:04:05+00:00","recipientAccountId":"1"`, 0},
		{`"eventTime":"2024-01-02t03:04:05Z","recipientAccountId":"1"`, 0},
		{`"eventTime":"2024-01-02T03:04:05Z","recipientAccountId":"1","ErrorCode":"X"`, 0},
		{`"eventTime":"2024-01-02T03:04:05Z","recipientAccountId":"1","READONLY":true`, 0},
		{`"eventTime":"2024-01-02T03:04:05Z","recipientAccountId":"1","errorcodes":"X"`, exact | HasRecipientAccountID},
	} {
		raw := fmt.Appendf(nil, `{%s,%s}`, base, tt.fields)
		if got := mustParse(t, raw).Columns; got != tt.want {
			t.Errorf("%s: Columns %05b, want %05b", raw, got, tt.want)
		}
	}

	// Insights events take eventName and eventSource from insightDetails,
	// which a query does not read as those columns.
	insight := `{"eventID":"e","eventTime":"2024-01-02T03:04:05Z","eventType":"AwsCloudTrailInsight","recipientAccountId":"1",` +
		`"insightDetails":{"eventName":"n","eventSource":"s"}}`
	if got := mustParse(t, []byte(insight)).Columns; got != 0 {
		t.Errorf("insight: Columns %05b, want 0", got)
	}
}

// TestCountedColumnsMatch: storage keeps these bits of Columns in its
// counts without importing this package, so their values must match.
func TestCountedColumnsMatch(t *testing.T) {
	if storage.CountedColumns != ColumnsExact|HasRecipientAccountID {
		t.Fatalf("storage.CountedColumns = %b, want ColumnsExact|HasRecipientAccountID = %b", storage.CountedColumns, ColumnsExact|HasRecipientAccountID)
	}
}
