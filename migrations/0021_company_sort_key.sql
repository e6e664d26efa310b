-- Company names in Portuguese order: "Belém" before "Belo Horizonte", "Água" among the
-- A's. SQLite compares bytes, so lists order by a folded key (lower case, no accents),
-- filled by the program like search_text (rows with '' are backfilled at start). The
-- name indexes, which keyset paging and the search walk read, move to the key.
ALTER TABLE companies ADD COLUMN sort_key TEXT NOT NULL DEFAULT '';
DROP INDEX companies_by_name;
DROP INDEX companies_by_status_name;
DROP INDEX companies_search_walk;
CREATE INDEX companies_by_name ON companies (sort_key, id);
CREATE INDEX companies_by_status_name ON companies (status, sort_key, id);
CREATE INDEX companies_search_walk ON companies (sort_key, id, status, search_text);
