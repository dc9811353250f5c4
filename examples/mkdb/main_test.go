package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"
)

// TestScores runs examples/scores.sql twice, as the README does once, and
// checks the seed's scores.
func TestScores(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "scores.db")
	for range 2 {
		f, err := os.Open("../scores.sql")
		if err != nil {
			t.Fatalf("open script: %v", err)
		}
		err = run(path, f)
		f.Close()
		if err != nil {
			t.Fatalf("run(%s, scores.sql): %v", path, err)
		}
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer db.Close()
	want := map[string]int{"Tom": 630, "Jack": 589, "Sam": 567}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM scores").Scan(&n); err != nil || n != len(want) {
		t.Errorf("count(*) = %d, %v, want %d", n, err, len(want))
	}
	for name, score := range want {
		var got int
		if err := db.QueryRow("SELECT score FROM scores WHERE name = ?", name).Scan(&got); err != nil || got != score {
			t.Errorf("score of %s = %d, %v, want %d", name, got, err, score)
		}
	}
}
