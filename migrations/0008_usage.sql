-- API usage per application, company, São Paulo day and operation. Counted in memory on
-- the hot path and added here in batches.
CREATE TABLE api_usage (
    date           TEXT NOT NULL,
    application_id TEXT NOT NULL,
    company_id     TEXT NOT NULL,
    operation      TEXT NOT NULL,
    count          INTEGER NOT NULL,
    PRIMARY KEY (date, application_id, company_id, operation)
);
CREATE INDEX api_usage_by_company ON api_usage (company_id, date);
