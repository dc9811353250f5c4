-- The seed's scores, for the SQLite (and PostgreSQL) examples:
--   go run ./examples/mkdb examples/scores.db < examples/scores.sql
-- or, with the sqlite3 shell:
--   sqlite3 examples/scores.db < examples/scores.sql
-- Running it again leaves the same three rows.
CREATE TABLE IF NOT EXISTS scores (name TEXT PRIMARY KEY, score INTEGER);
INSERT INTO scores (name, score) VALUES ('Tom', 630), ('Jack', 589), ('Sam', 567)
	ON CONFLICT (name) DO UPDATE SET score = excluded.score;
