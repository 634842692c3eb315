package coopfed

import (
	"strings"
	"time"
	"unicode/utf8"
)

// MaxNoteLength bounds an announcement's text; Mastodon's default is 500
// characters, but coops publish longer notices and peers accept long notes.
const MaxNoteLength = 5000

// Note is an announcement a coop publishes to its followers.
type Note struct {
	ID        int64
	IRI       string
	CoopID    int64
	Content   string // plain text as written; rendered to HTML on the wire
	Published time.Time
	DeletedAt *time.Time
}

// Validate checks an announcement before it is stored.
func (n *Note) Validate() error {
	text := strings.TrimSpace(n.Content)
	switch {
	case text == "":
		return FieldErrors(map[string]string{"content": "write something"})
	case utf8.RuneCountInString(text) > MaxNoteLength:
		return FieldErrors(map[string]string{"content": "at most 5000 characters"})
	}
	return nil
}

// TimelineItem is something a followed actor published that reached a local
// coop's inbox: a note, a question, a listing. Content is sanitised HTML.
type TimelineItem struct {
	ID          int64
	CoopID      int64
	ActivityIRI string
	ObjectIRI   string
	ObjectType  string
	ActorIRI    string
	Content     string
	Summary     string
	URL         string
	InReplyTo   string
	Published   time.Time
	Updated     *time.Time
	Deleted     bool
}
