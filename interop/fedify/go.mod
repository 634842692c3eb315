// This go.mod only marks a module boundary: it keeps the Go files some npm
// packages ship under node_modules out of the coopfed module, so that
// `go test ./...` and `go vet ./...` from the repository root skip them.
module coopfed.invalid/interop/fedify

go 1.26
