// Command mkdb runs an SQL script against an SQLite database, creating the
// database if need be: the one thing the examples need of the sqlite3 shell,
// for machines without it. From the repository's root:
//
//	go run ./examples/mkdb examples/scores.db < examples/scores.sql
//
// does what "sqlite3 examples/scores.db < examples/scores.sql" does.
package main

import (
	"database/sql"
	"fmt"
	"io"
	"os"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" database/sql driver
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: mkdb DATABASE < SCRIPT.sql")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "mkdb:", err)
		os.Exit(1)
	}
}

// run executes the script read from r against the database at path.
func run(path string, r io.Reader) error {
	script, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("read script: %w", err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	if _, err := db.Exec(string(script)); err != nil {
		db.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return db.Close()
}
