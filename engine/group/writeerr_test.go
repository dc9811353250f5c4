package group_test

import (
	"context"
	"errors"
	"testing"

	"github.com/rcache/rcache/engine/group"
	"github.com/rcache/rcache/pb"
)

func TestIncrByReportsOriginFailure(t *testing.T) {
	t.Parallel()
	g := newTestGroup(t, group.Config{Name: "incr", Getter: group.GetterFunc(
		func(context.Context, string) ([]byte, error) { return nil, errBoom })})
	n, err := g.IncrBy(context.Background(), "k", 1)
	var oe *group.OriginError
	if !errors.As(err, &oe) || n != 0 {
		t.Errorf("IncrBy with a failing origin = %d, %v, want an *OriginError", n, err)
	}
}

func TestServeWriteRefusesBadRequests(t *testing.T) {
	t.Parallel()
	g := newTestGroup(t, group.Config{Name: "w", Getter: newOrigin(scores)})
	tests := []struct {
		name string
		in   *pb.WriteRequest
	}{
		{"empty key", &pb.WriteRequest{Op: pb.WriteRequest_OP_SET, Value: []byte("v")}},
		{"unspecified op", &pb.WriteRequest{Key: "k"}},
		{"unknown op", &pb.WriteRequest{Key: "k", Op: pb.WriteRequest_Op(99)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := g.ServeWrite(context.Background(), tt.in)
			if res.GetError() != pb.WriteResponse_ERROR_BAD_REQUEST || res.GetMessage() == "" {
				t.Errorf("ServeWrite(%v) = %v, want ERROR_BAD_REQUEST with a message", tt.in, res)
			}
		})
	}
	if n := g.Len(); n != 0 {
		t.Errorf("Len after refused writes = %d, want 0", n)
	}
}
