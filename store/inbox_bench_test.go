package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coopfed/coopfed"
)

// BenchmarkInboxCommit measures what the inbox's rows cost per post when
// one commit holds a batch of posts (the group commit's batches): each post
// is a MarkSeen and a PutTimelineItem of a note of 420 bytes from one of eight
// actors, the shape of the load tool's busy peer. cpu-us/post is the
// process's CPU time, so it counts the background checkpoints, the last of
// which the timed region waits for.
func BenchmarkInboxCommit(b *testing.B) {
	for _, batch := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s, err := Open(filepath.Join(b.TempDir(), "coopfed.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			var c *coopfed.Coop
			if err := s.Update(context.Background(), func(tx *Tx) error {
				c = &coopfed.Coop{Name: "bakery", PublicKeyPEM: "public", PrivateKeyPEM: "private"}
				return tx.CreateCoop(c)
			}); err != nil {
				b.Fatal(err)
			}
			content := "<p>" + strings.Repeat("forty loaves, free by Saturday. ", 13) + "</p>"
			published := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
			n := 0
			b.ResetTimer()
			cpu0 := benchCPU(b)
			for b.Loop() {
				err := s.Update(context.Background(), func(tx *Tx) error {
					for range batch {
						n++
						actor := fmt.Sprintf("https://peer.example/users/a%d", n%8)
						note := fmt.Sprintf("%s/statuses/%d", actor, n)
						if _, err := tx.MarkSeen(note+"/activity", ""); err != nil {
							return err
						}
						if err := tx.PutTimelineItem(&coopfed.TimelineItem{CoopID: c.ID, ActivityIRI: note + "/activity", ObjectIRI: note,
							ObjectType: "Note", ActorIRI: actor, Content: content, URL: note, Published: published}); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			if _, err := s.ckpt.checkpoint(); err != nil {
				b.Fatal(err)
			}
			cpu := benchCPU(b) - cpu0
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(n), "us/post")
			b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-us/post")
			st := s.Checkpoints()
			b.ReportMetric(float64(st.Frames)/float64(max(st.Runs, 1)), "frames/checkpoint")
		})
	}
}

// benchCPU is the CPU time (user + system) this process has used.
func benchCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
