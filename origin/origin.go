// Package origin provides group.Getters that load values from the places a
// read-through cache sits in front of: an HTTP service, a SQLite file, a
// PostgreSQL database, a directory of files, or the embedded demo data set.
//
// Every origin honours the context it is given (the load's own, bounded by
// the group's load timeout), reports a missing key with an error wrapping
// group.ErrNotFound, and keeps secrets (passwords, DSNs) out of its errors.
package origin
