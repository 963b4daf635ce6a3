package source

import (
	"bytes"
	"encoding/json"
	"path"
	"slices"
	"strings"
)

// logExtensions are the name endings, in any case, of files read as
// CloudTrail logs; ".gz" covers ".json.gz", ".jsonl.gz" and so on.
var logExtensions = []string{".json", ".gz", ".jsonl", ".ndjson", ".log"}

const logExtensionList = ".json, .gz, .jsonl, .ndjson or .log"

// recordKeys are top-level keys of which a CloudTrail record has at least
// one; logs re-exported by Logstash or others may lack eventTime but keep
// the rest.
var recordKeys = []string{"eventVersion", "eventID", "eventTime", "eventName", "eventSource"}

const recordKeyList = "eventVersion, eventID, eventTime, eventName or eventSource"

// nameClass is what a file's path says about it.
type nameClass int

const (
	nameLog    nameClass = iota // to be read
	nameDigest                  // a CloudTrail digest file
	nameOther                   // not a CloudTrail log file
)

// classifyName judges a file by its slash-separated path below the root.
func classifyName(rel string) nameClass {
	base := path.Base(rel)
	if strings.Contains(base, "_CloudTrail-Digest_") || slices.Contains(strings.Split(rel, "/"), "CloudTrail-Digest") {
		return nameDigest
	}
	lower := strings.ToLower(base)
	for _, ext := range logExtensions {
		if strings.HasSuffix(lower, ext) {
			return nameLog
		}
	}
	return nameOther
}

// looksLikeRecord reports whether the JSON object obj has one of recordKeys
// at its top level.
func looksLikeRecord(obj []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if _, err := dec.Token(); err != nil { // '{'
		return false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if key, _ := tok.(string); slices.Contains(recordKeys, key) {
			return true
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return false
		}
	}
	return false
}
