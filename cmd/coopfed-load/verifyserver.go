package main

import (
	"bufio"
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/coopfed/coopfed/federation/httpsign"
)

// verifyServer is the inbox scenario's floor as a server: the least an
// inbox that keeps what it accepts must do. It checks each POST's
// signature (Date, Digest, signed headers, RSA verify) with the sender's
// key, known in advance as a key cache would hold it, appends the body to
// a file and answers 202 only once an fsync covers the append. Appends of
// concurrent requests share one write and one fsync (group commit), as any
// durable server under load would do.
type verifyServer struct {
	keys map[string]*rsa.PublicKey // keyId -> key
	file *os.File
	srv  *http.Server
	URL  string

	appends chan *appendReq
	stopped chan struct{}

	accepted, refused atomic.Int64
	lines             atomic.Int64 // appended and synced
	fsyncs            atomic.Int64
}

type appendReq struct {
	body []byte
	done chan error
}

// startVerifyServer listens on 127.0.0.1 and appends to path.
func startVerifyServer(path string, actors []*fakeActor) (*verifyServer, error) {
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fh.Close()
		return nil, err
	}
	v := &verifyServer{keys: map[string]*rsa.PublicKey{}, file: fh, appends: make(chan *appendReq, 1024), stopped: make(chan struct{})}
	for _, a := range actors {
		v.keys[a.keyID] = &a.key.priv.PublicKey
	}
	v.URL = "http://" + ln.Addr().String()
	v.srv = &http.Server{Handler: v, ReadHeaderTimeout: 10 * time.Second}
	go v.writer()
	go v.srv.Serve(ln)
	return v, nil
}

// ServeHTTP verifies, appends, syncs, answers.
func (v *verifyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if err := v.verify(r, body); err != nil {
		v.refused.Add(1)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	req := &appendReq{body: body, done: make(chan error, 1)}
	v.appends <- req
	if err := <-req.done; err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	v.accepted.Add(1)
	w.WriteHeader(http.StatusAccepted)
}

func (v *verifyServer) verify(r *http.Request, body []byte) error {
	p, err := httpsign.Check(r, body, time.Now(), time.Hour)
	if err != nil {
		return err
	}
	pub := v.keys[p.KeyID]
	if pub == nil {
		return fmt.Errorf("unknown keyId %q", p.KeyID)
	}
	return p.Verify(r, pub)
}

// writer appends what is queued, one write and one fsync for all the
// requests waiting, then answers them.
func (v *verifyServer) writer() {
	defer close(v.stopped)
	bw := bufio.NewWriterSize(v.file, 256<<10)
	for first := range v.appends {
		batch := []*appendReq{first}
	drain:
		for len(batch) < 512 {
			select {
			case r, ok := <-v.appends:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		var err error
		for _, r := range batch {
			if _, werr := bw.Write(r.body); werr != nil && err == nil {
				err = werr
			}
			bw.WriteByte('\n')
		}
		if ferr := bw.Flush(); ferr != nil && err == nil {
			err = ferr
		}
		if serr := v.file.Sync(); serr != nil && err == nil {
			err = serr
		}
		v.fsyncs.Add(1)
		if err == nil {
			v.lines.Add(int64(len(batch)))
		}
		for _, r := range batch {
			r.done <- err
		}
	}
}

// countLines counts the lines the file holds: what a restart would find.
func (v *verifyServer) countLines() (int64, error) {
	fh, err := os.Open(v.file.Name())
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 64<<10), 2<<20)
	var n int64
	for sc.Scan() {
		n++
	}
	return n, sc.Err()
}

// Close stops the server and the writer.
func (v *verifyServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := v.srv.Shutdown(ctx)
	close(v.appends)
	<-v.stopped
	return errors.Join(err, v.file.Close())
}
