package origin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"syscall"

	"github.com/rcache/rcache/engine/group"
)

// FileConfig describes a file origin. Zero fields select the defaults.
type FileConfig struct {
	// Dir is the directory whose files are the values. Required; it must
	// exist and be a directory.
	Dir string

	// MaxFileBytes bounds the size of a value; a larger file is an error
	// (not a not-found). Zero selects 64 MiB.
	MaxFileBytes int64
}

// Validate reports what is wrong with c, if anything. NewFile also checks
// that Dir is a directory.
func (c *FileConfig) Validate() error {
	if c.Dir == "" {
		return errors.New("origin: file: no directory")
	}
	if c.MaxFileBytes < 0 {
		return fmt.Errorf("origin: file %s: negative size limit", c.Dir)
	}
	return nil
}

// withDefaults returns c with its zero fields set to their defaults.
func (c FileConfig) withDefaults() FileConfig {
	if c.MaxFileBytes == 0 {
		c.MaxFileBytes = 64 << 20
	}
	return c
}

// File is an origin that serves the regular files under a directory: the
// key is a slash-separated path relative to it ("scores/Tom") and the
// file's contents are the value.
//
// Only keys in canonical form (io/fs.ValidPath: no leading or trailing
// slash, no empty, "." or ".." elements) without a backslash or a NUL byte
// name a file, so each file has exactly one key. Any other key, a key that
// leads outside the directory (including through a symlink: lookups go
// through an os.Root), a directory or anything else that is not a regular
// file, and a missing file, are not found; nothing outside the directory
// is ever opened.
//
// File is safe for concurrent use.
type File struct {
	cfg  FileConfig
	root *os.Root
}

// NewFile returns a file origin over cfg.Dir, or says what is wrong with cfg.
// The directory stays open until Close.
func NewFile(cfg FileConfig) (*File, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	fi, err := os.Stat(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("origin: file: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("origin: file %s: not a directory", cfg.Dir)
	}
	root, err := os.OpenRoot(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("origin: file: %w", err)
	}
	return &File{cfg: cfg, root: root}, nil
}

// Get returns the contents of the file key names. It checks ctx before
// opening the file and between reads of at most 1 MiB.
func (f *File) Get(ctx context.Context, key string) ([]byte, error) {
	if !fs.ValidPath(key) || strings.ContainsAny(key, "\\\x00") {
		return nil, fmt.Errorf("origin: file get %q: not a canonical relative path: %w", key, group.ErrNotFound)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("origin: file get %q: %w", key, context.Cause(ctx))
	}
	// Stat first, so that a FIFO or device is never opened: opening a FIFO
	// blocks until a writer comes. O_NONBLOCK covers the file being swapped
	// for one between Stat and OpenFile, and the Stat of the open file below
	// catches any other swap.
	fi, err := f.root.Stat(key)
	if err != nil {
		return nil, f.openError(key, err)
	}
	if err := f.checkFile(key, fi); err != nil {
		return nil, err
	}
	file, err := f.root.OpenFile(key, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, f.openError(key, err)
	}
	defer file.Close()
	if fi, err = file.Stat(); err != nil {
		return nil, fmt.Errorf("origin: file get %q: %w", key, err)
	}
	if err := f.checkFile(key, fi); err != nil {
		return nil, err
	}
	// One byte more than the file holds, so that the read that finds EOF
	// needs no room, and a file that grew is read on until it passes the limit.
	buf := make([]byte, 0, min(fi.Size(), f.cfg.MaxFileBytes)+1)
	for int64(len(buf)) <= f.cfg.MaxFileBytes {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("origin: file get %q: %w", key, context.Cause(ctx))
		}
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, readChunk)
		}
		// Read at most readChunk at a time, so that ctx is checked between.
		n, err := file.Read(buf[len(buf):min(cap(buf), len(buf)+readChunk)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("origin: file get %q: %w", key, err)
		}
	}
	if int64(len(buf)) > f.cfg.MaxFileBytes {
		return nil, fmt.Errorf("origin: file get %q: larger than %d bytes", key, f.cfg.MaxFileBytes)
	}
	return buf, nil
}

// readChunk is the most File.Get reads at once between checks of its ctx.
const readChunk = 1 << 20

// checkFile reports a key whose file is not a regular file as not found,
// and one whose file is over the size limit as an error.
func (f *File) checkFile(key string, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("origin: file get %q: not a regular file: %w", key, group.ErrNotFound)
	}
	if fi.Size() > f.cfg.MaxFileBytes {
		return fmt.Errorf("origin: file get %q: larger than %d bytes", key, f.cfg.MaxFileBytes)
	}
	return nil
}

// openError turns an error from looking key up in the root into the
// error Get returns. A key that names no file in the root is not found:
// it does not exist, a parent is not a directory, the name is too long or
// loops, or it resolves outside the root. os.Root reports that last case
// with an unexported error that is not an errno, so every error without
// an errno counts as not found; failures with other errnos, such as
// EACCES or EIO, are errors.
func (f *File) openError(key string, err error) error {
	var errno syscall.Errno
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ELOOP) ||
		errors.Is(err, syscall.ENAMETOOLONG) || !errors.As(err, &errno) {
		return fmt.Errorf("origin: file get %q: %w", key, group.ErrNotFound)
	}
	return fmt.Errorf("origin: file get %q: %w", key, err)
}

// Close closes the directory. Gets after Close fail.
func (f *File) Close() error {
	return f.root.Close()
}
