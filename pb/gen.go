// Package pb holds the protocol buffer messages rcache nodes exchange.
//
// rcache.proto is authoritative; rcache.pb.go is generated from it and
// checked in. Regenerate with `go generate ./pb`: it needs protoc (Debian's
// protobuf-compiler) and builds protoc-gen-go at the version go.mod pins.
// TestGeneratedCodeIsCurrent fails when the checked-in file is stale.
package pb

//go:generate go build -o .bin/protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go
//go:generate protoc --plugin=protoc-gen-go=.bin/protoc-gen-go --go_out=. --go_opt=paths=source_relative rcache.proto
