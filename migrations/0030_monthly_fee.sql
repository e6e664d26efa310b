-- Issue 13: what each client company pays per month, in cents (NULL: not set).
ALTER TABLE companies ADD COLUMN monthly_fee_cents INTEGER
    CHECK (monthly_fee_cents IS NULL OR monthly_fee_cents >= 0);

-- The monthly recurring revenue (sum of the fees of active companies) as it stood at the
-- end of each day on which it changed: written in the same transaction as every change
-- that can move it (a fee, a status) and once a day by housekeeping. The MRR on a past
-- day is the row of the latest date on or before it (none: 0, fees did not exist yet).
CREATE TABLE mrr_daily (
    date       TEXT PRIMARY KEY,          -- aaaa-mm-dd, São Paulo
    mrr_cents  INTEGER NOT NULL,
    companies  INTEGER NOT NULL           -- active companies with a fee
);
