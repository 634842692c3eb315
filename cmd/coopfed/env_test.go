package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// A COOPFED_* value that does not parse, or an argument left over, is a
// usage error rather than a silent fall-back to the defaults.
func TestServeRefusesBadEnvironmentAndArguments(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"bool", map[string]string{"COOPFED_ALLOW_PRIVATE_NETWORK": "yes please"}, nil, "COOPFED_ALLOW_PRIVATE_NETWORK"},
		{"int", map[string]string{"COOPFED_WORKERS": "sixteen"}, nil, "COOPFED_WORKERS"},
		{"duration", map[string]string{"COOPFED_RETRY_BASE": "30"}, nil, "COOPFED_RETRY_BASE"},
		{"extra argument", nil, []string{"extra"}, `unexpected argument "extra"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			db := filepath.Join(t.TempDir(), "never.db")
			var out bytes.Buffer
			err := run(context.Background(), append([]string{"serve", "--db", db}, tc.args...), &out, &out)
			var ue usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a usage error naming %s", err, tc.want)
			}
		})
	}
}
