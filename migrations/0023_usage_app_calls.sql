-- Calls of an application that are about none of its companies (a token issued, a
-- sign-out, a list that returned nothing), per São Paulo day and operation, so every
-- call an application makes is counted somewhere. Refused ones go to api_refusals.
CREATE TABLE api_app_usage (
    date           TEXT NOT NULL,
    application_id TEXT NOT NULL,
    operation      TEXT NOT NULL,
    count          INTEGER NOT NULL,
    PRIMARY KEY (date, application_id, operation)
);
