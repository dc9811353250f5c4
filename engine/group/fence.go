package group

import (
	"sync"
	"sync/atomic"
)

// fences keeps writes from being overwritten by loads that started before
// them. The interleaving it prevents:
//
//	load:  Getter returns "old" ....................... cache.add("old")
//	write:               DEL k (or SET k "new") ...
//
// Without a fence the load's stale result lands after the write and wins.
// A load takes a ticket when it starts; a write (or a flush) to the key
// bumps the key's counter while the load is in flight; the load caches its
// result only if the counter is unchanged, checked and added under one lock
// so that no write can slip between the check and the add.
type fences struct {
	mu    sync.Mutex       // guards keys and flush
	keys  map[string]fence // by value, so that a load allocates no fence
	flush uint64           // bumped by every flush; fences all keys at once

	// loads counts the loads between begin and end, changed under mu, so
	// that write can see without the lock that no load needs fencing: a
	// load whose begin has not added itself yet takes its ticket after the
	// write, exactly as if it had waited for write's lock.
	loads atomic.Int64
}

// fence counts the loads in flight for a key and the writes seen meanwhile.
type fence struct {
	loads  int
	writes uint64
}

// ticket is what a load holds from begin to end.
type ticket struct {
	key           string
	writes, flush uint64
}

// begin registers a load of key.
func (f *fences) begin(key string) ticket {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.keys == nil {
		f.keys = make(map[string]fence)
	}
	e := f.keys[key]
	e.loads++
	f.keys[key] = e
	f.loads.Add(1)
	return ticket{key: key, writes: e.writes, flush: f.flush}
}

// end unregisters a load and, if no write or flush touched its key since
// begin, calls add (which must not block: it runs with the lock held).
// It reports whether add was called.
func (f *fences) end(t ticket, add func()) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.keys[t.key]
	fresh := e.writes == t.writes && f.flush == t.flush
	if fresh && add != nil {
		add()
	}
	if e.loads--; e.loads == 0 {
		delete(f.keys, t.key)
	} else {
		f.keys[t.key] = e
	}
	f.loads.Add(-1)
	return fresh
}

// write marks every load of key in flight as stale. Call it before the
// write changes the cache.
func (f *fences) write(key string) {
	if f.loads.Load() == 0 {
		return // no load in flight, of this key or any other
	}
	f.mu.Lock()
	if e, ok := f.keys[key]; ok {
		e.writes++
		f.keys[key] = e
	}
	f.mu.Unlock()
}

// flushAll marks every load in flight as stale.
func (f *fences) flushAll() {
	f.mu.Lock()
	f.flush++
	f.mu.Unlock()
}
