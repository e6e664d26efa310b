-- People's names in Portuguese order: "Álvaro" with "Alvaro" and before "Bruno". Like
-- companies (0021), lists order by a folded key (lower case, no accents) the program
-- fills; rows with '' are backfilled at start. The key is a copy of the name: erasure
-- replaces it with the pseudonym's.
ALTER TABLE users ADD COLUMN sort_key TEXT NOT NULL DEFAULT '';
CREATE INDEX users_by_sort_key ON users (sort_key, id);
CREATE INDEX users_by_company_sort_key ON users (company_id, sort_key, id);
