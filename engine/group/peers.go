package group

import (
	"context"

	"github.com/rcache/rcache/pb"
)

// PeerPicker finds the node that owns a key. cluster/peerhttp implements it.
type PeerPicker interface {
	// PickPeer returns the peer that owns key, or false when this node owns
	// it (or there are no peers).
	PickPeer(key string) (peer PeerGetter, ok bool)
	// Peers returns every peer but this node; writes use it to tell them to
	// drop their hot copies.
	Peers() []PeerGetter
}

// PeerGetter is one remote node. A returned error means the transport
// failed (the peer is down, slow, or answered garbage): the caller may fall
// back to its own origin. A not-found or an origin error at the peer is not
// an error here; it arrives in the response. Its dynamic type must be
// comparable (a pointer, typically): GetMany groups keys by peer in a map.
type PeerGetter interface {
	// Get asks the peer for one key.
	Get(ctx context.Context, in *pb.GetRequest) (*pb.GetResponse, error)
	// GetMany asks the peer for several keys of one group in one round trip.
	GetMany(ctx context.Context, in *pb.GetManyRequest) (*pb.GetManyResponse, error)
	// Write applies a write at the peer.
	Write(ctx context.Context, in *pb.WriteRequest) (*pb.WriteResponse, error)
}

// HandoffPicker is a PeerPicker that remembers the ring as it was before its
// last membership change. When this node has just become the owner of a key
// it does not hold, it first asks the key's previous owner for its copy
// (a short peek that never calls the origin) before calling its own origin.
type HandoffPicker interface {
	PeerPicker
	// PreviousOwner returns the node that owned key before the last ring
	// change, when that change is recent (within the picker's hand-off
	// window) and the previous owner is another node that is still a member.
	PreviousOwner(key string) (peer PeerGetter, ok bool)
}

// NoPeers is a PeerPicker for a single node: it owns every key.
type NoPeers struct{}

// PickPeer always reports that this node owns key.
func (NoPeers) PickPeer(string) (PeerGetter, bool) { return nil, false }

// Peers returns nil.
func (NoPeers) Peers() []PeerGetter { return nil }
