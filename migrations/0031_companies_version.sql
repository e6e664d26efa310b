-- Issue 14: the in-memory company search index (services::company_index) must know when
-- the companies it copied changed, whoever changed them: this process's writer, a
-- command-line process, a restore, an edit with sqlite3. Every change of a searchable
-- column (or of a row's existence) sets `v` to a new random value in the same
-- transaction; a search reads `v` in the same read transaction as its rows and uses the
-- index only when the index was built at that very value. Random, not a counter, so that
-- two different histories never end at the same value.
CREATE TABLE companies_version (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    v   INTEGER NOT NULL
);
INSERT INTO companies_version (id, v) VALUES (1, random());
CREATE TRIGGER companies_version_insert AFTER INSERT ON companies BEGIN
    UPDATE companies_version SET v = random() WHERE id = 1;
END;
CREATE TRIGGER companies_version_delete AFTER DELETE ON companies BEGIN
    UPDATE companies_version SET v = random() WHERE id = 1;
END;
CREATE TRIGGER companies_version_update
AFTER UPDATE OF id, legal_name, trade_name, cnpj, status, search_text, sort_key ON companies
BEGIN
    UPDATE companies_version SET v = random() WHERE id = 1;
END;
