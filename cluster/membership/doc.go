// Package membership keeps the list of live rcache peers up to date, by
// gossip (Start) or by polling DNS (StartDNS).
//
// Both report the same thing: the sorted peer HTTP URLs of the nodes that
// are up, this node included, passed to an OnChange callback whenever the
// set changes. The caller hands that list to the peer pool, e.g.
// peerhttp.Pool.Set(urls...). Neither knows anything about the pool.
//
// # Gossip
//
// Start runs a github.com/hashicorp/memberlist node (SWIM gossip with
// failure detection) that carries this node's peer URL in its metadata.
//
// Joining: a node contacts the seeds in Config.Join over TCP and exchanges
// the full member list with the first that answers; gossip spreads the news
// to everyone else within a few gossip rounds (200 ms each). A node started
// before its seeds keeps trying in the background, with a backoff that
// doubles from Config.JoinBackoff (1 s) up to 32 times that, logging each
// failure at warn level; it never gives up, and it tries again whenever it
// finds itself alone, which also heals a partition that left it isolated.
// Any one live member is enough as a seed.
//
// Leaving: Leave broadcasts that this node is going away and waits (up to
// its timeout) until the broadcast is sent; the others drop the node as soon
// as the message reaches them, typically within a few gossip rounds.
//
// Failure: a node that stops answering (crash, Shutdown without Leave,
// network cut) is found by the failure detector. With the default LAN
// configuration every member probes one member per second (ProbeInterval
// 1 s, ProbeTimeout 500 ms, then 3 indirect probes through other members),
// so a dead node is probed by someone within about a second. A failed probe
// marks it suspect, and it is declared dead when the suspicion timer
// expires: min = SuspicionMult(4) × max(1, log10(n)) × ProbeInterval, which
// is 4 s up to 10 nodes and 8 s at 100. In a cluster of 3 that is the
// timeout; in larger ones the timer starts at 6 × min
// (SuspicionMaxTimeoutMult) and shrinks towards min as the other members
// probe the node too and confirm the suspicion, which takes a few seconds.
// Expect a crashed node to leave the URL list after about 6 s in a small
// cluster (measured on loopback: 5.8 to 6.8 s with 3 and with 5 nodes), and
// at worst about 25 s. A join or a Leave reaches every member within a few
// gossip rounds: about 0.3 s on loopback, 0.1 s of it Config.Settle. Suspect nodes stay in the URL list: dropping
// a node on the first missed probe would move its keys back and forth
// whenever a packet is lost.
//
// Without Config.SecretKey, gossip is unauthenticated and in clear text:
// anyone who can reach the gossip port can join the ring. Set a key, or
// keep the gossip port on a private network.
//
// # DNS
//
// StartDNS suits Kubernetes: a headless Service in front of a StatefulSet
// resolves to the IP of every pod, this one included. StartDNS looks the
// name up every DNSConfig.Interval (5 s, the default TTL of CoreDNS's
// kubernetes plugin), turns the addresses into URLs and calls OnChange when
// the set differs from the last one. A failed lookup or an empty answer
// keeps the last set: emptying the ring because the DNS server hiccupped
// would cost more than routing to a node that is gone, which the peer
// client already survives by loading the key locally. Set
// publishNotReadyAddresses: true on the Service so that a pod is in the
// records before it is ready.
package membership
