-- Refused API calls on ids that are not one of the application's companies (made up,
-- another tenant's, or no longer visible to it) are counted here, one counter per
-- application and São Paulo day, without the id: an id typed by a caller never
-- reaches a report, and millions of made-up ids add one row a day per application.
CREATE TABLE api_refusals (
    date           TEXT NOT NULL,
    application_id TEXT NOT NULL,
    count          INTEGER NOT NULL,
    PRIMARY KEY (date, application_id)
);

-- Usage rows for ids that are no company (made-up ids of refused calls, counted before
-- this migration) become refusal counters, and usage keeps real companies only.
INSERT INTO api_refusals (date, application_id, count)
    SELECT date, application_id, SUM(count) FROM api_usage
    WHERE company_id NOT IN (SELECT id FROM companies)
    GROUP BY date, application_id;
DELETE FROM api_usage WHERE company_id NOT IN (SELECT id FROM companies);

-- Application tokens already carry the scope granted at issue (`app_tokens.scope`: what
-- was asked for, or every scope when nothing was); a blank one, which no release wrote,
-- would now grant nothing, so it is given every scope, as it had before.
UPDATE app_tokens SET scope = 'companies:read omie_credentials:read omie:proxy'
    WHERE trim(scope) = '';
