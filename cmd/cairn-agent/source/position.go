package source

// Position says how far a resumable source has been read: enough to open it
// again after the records already taken and continue from there.
type Position struct {
	// File is the file being read, as a path relative to the source's root
	// (a directory source) or as given (a file source); empty for sources
	// that are not files.
	File string `json:"file,omitempty"`
	// Records is how many records of File (or, without a file, of the whole
	// source) were returned so far.
	Records int64 `json:"records"`
}

// Tracker is implemented by sources that can resume where they stood. Both
// methods are called from the goroutine that calls Next.
type Tracker interface {
	// Position is the position just after the last record Next returned.
	Position() Position
	// Completed returns, in order, the files read to their end since the
	// last call: every record of each was returned by Next before this call.
	Completed() []string
}
