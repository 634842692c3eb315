package handlers

import (
	"bytes"
	"hash/fnv"
	"image"
	"image/color"
	"image/png"
	"net/http"

	"github.com/gorilla/mux"
)

// getAvatar serves a coop's avatar: a symmetric 5x5 pattern drawn from a
// hash of its name, so every coop has a distinct, stable picture in
// Mastodon's timelines without anyone uploading one.
func (s *Server) getAvatar(w http.ResponseWriter, r *http.Request) {
	c, err := s.store.CoopByName(r.Context(), mux.Vars(r)["name"])
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write(identicon(c.Name))
}

// identicon draws the pattern for name as a 400x400 PNG (Mastodon's
// avatar size).
func identicon(name string) []byte {
	h := fnv.New64a()
	h.Write([]byte(name))
	sum := h.Sum64()
	fg := color.RGBA{R: uint8(sum >> 8), G: uint8(sum >> 16), B: uint8(sum >> 24), A: 255}
	// Darken light colours so the pattern reads on the pale background.
	if int(fg.R)+int(fg.G)+int(fg.B) > 500 {
		fg.R, fg.G, fg.B = fg.R/2, fg.G/2, fg.B/2
	}
	bg := color.RGBA{R: 245, G: 243, B: 238, A: 255}
	const size, cells, margin = 400, 5, 25
	cell := (size - 2*margin) / cells
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			img.SetRGBA(x, y, bg)
		}
	}
	for row := range cells {
		for col := range 3 { // the left half and middle; the right mirrors it
			if sum>>(32+row*3+col)&1 == 0 {
				continue
			}
			for _, c := range []int{col, cells - 1 - col} {
				x0, y0 := margin+c*cell, margin+row*cell
				for y := y0; y < y0+cell; y++ {
					for x := x0; x < x0+cell; x++ {
						img.SetRGBA(x, y, fg)
					}
				}
			}
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	return buf.Bytes()
}
