// Package templates embeds coopfed's HTML templates and stylesheet and
// parses every page at start-up, so a broken template stops the server
// before it serves anything.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"strings"
	"time"
)

//go:embed *.html
var pageFS embed.FS

//go:embed static
var staticFS embed.FS

// Static returns the embedded static files (stylesheet), rooted at static/.
func Static() fs.FS {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

// Templates holds every parsed page.
type Templates struct {
	pages map[string]*template.Template
}

var funcs = template.FuncMap{
	"date": func(t time.Time) string { return t.UTC().Format("2 Jan 2006") },
	"datetime": func(t time.Time) string {
		return t.UTC().Format("2 Jan 2006 15:04 UTC")
	},
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	// percent writes a share (0 to 1) as a whole percentage.
	"percent": func(v float64) string { return fmt.Sprintf("%.0f %%", v*100) },
	// html marks sanitised HTML as safe; only values produced by the
	// sanitize package or by sanitize.Text may be passed to it.
	"html": func(s string) template.HTML { return template.HTML(s) },
	// dict builds a map from key, value pairs, to pass several values to
	// a template that calls itself (a threaded discussion).
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, fmt.Errorf("dict: odd number of arguments")
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
}

// Parse parses each page with the layout.
func Parse() (*Templates, error) {
	names, err := fs.Glob(pageFS, "*.html")
	if err != nil {
		return nil, err
	}
	t := &Templates{pages: map[string]*template.Template{}}
	for _, name := range names {
		if name == "layout.html" {
			continue
		}
		page, err := template.New("layout.html").Funcs(funcs).ParseFS(pageFS, "layout.html", name)
		if err != nil {
			return nil, fmt.Errorf("templates: %s: %w", name, err)
		}
		t.pages[strings.TrimSuffix(name, ".html")] = page
	}
	return t, nil
}

// Render writes page name with data. It renders into a buffer first so a
// failing template never sends half a page.
func (t *Templates) Render(w io.Writer, name string, data any) error {
	page, ok := t.pages[name]
	if !ok {
		return fmt.Errorf("templates: no page %q", name)
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, data); err != nil {
		return fmt.Errorf("templates: %s: %w", name, err)
	}
	_, err := buf.WriteTo(w)
	return err
}

// Has reports whether a page exists.
func (t *Templates) Has(name string) bool { _, ok := t.pages[name]; return ok }
