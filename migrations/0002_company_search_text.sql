-- A folded copy of the searchable fields (lower case, no accents), so that a search for
-- a very common word can walk the name index and stop after one page instead of
-- materialising tens of thousands of trigram matches. Filled by the program (it needs
-- Unicode folding); rows with '' are backfilled at start.
ALTER TABLE companies ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
-- Covers the walk in name order for common words: the scan reads only this index, never
-- the table, and stops after one page.
CREATE INDEX companies_search_walk ON companies (legal_name, id, status, search_text);
