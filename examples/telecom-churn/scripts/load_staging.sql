-- The staging target's tables: sample_data/ loaded into PostgreSQL with the types MBT infers
-- from the CSVs, so that staging trains and scores on the same rows as dev.
--
--   cd examples/telecom-churn
--   psql -h HOST -p PORT -U USER -d analytics -v ON_ERROR_STOP=1 -f scripts/load_staging.sql
--
-- Idempotent: the tables are recreated each time. `churn_predictions` (serving's output) is
-- created by MBT's postgres writer on the first publish.

BEGIN;

DROP TABLE IF EXISTS customer_churn_features, customer_demographics, active_customers, customers;

CREATE TABLE customer_churn_features (
    customer_id text PRIMARY KEY,
    snapshot_date date NOT NULL,
    tenure integer,
    phone_service integer,
    multiple_lines text,
    internet_service text,
    online_security text,
    online_backup text,
    device_protection text,
    tech_support text,
    streaming_tv text,
    streaming_movies text,
    contract text,
    paperless_billing integer,
    payment_method text,
    monthly_charges double precision,
    total_charges double precision,
    churned integer
);

CREATE TABLE customer_demographics (
    customer_id text PRIMARY KEY,
    female integer,
    senior_citizen integer,
    partner integer,
    dependents integer
);

-- The scoring table: the features without the label.
CREATE TABLE active_customers (LIKE customer_churn_features);
ALTER TABLE active_customers DROP COLUMN churned;

CREATE TABLE customers (
    customer_id text PRIMARY KEY,
    tenure integer,
    monthly_charges double precision,
    total_charges double precision,
    churned integer
);

\copy customer_churn_features FROM 'sample_data/customer_churn_features.csv' WITH (FORMAT csv, HEADER true)
\copy customer_demographics FROM 'sample_data/customer_demographics.csv' WITH (FORMAT csv, HEADER true)
\copy active_customers FROM 'sample_data/active_customers.csv' WITH (FORMAT csv, HEADER true)
\copy customers FROM 'sample_data/customers.csv' WITH (FORMAT csv, HEADER true)

-- Partition pruning for the date windows MBT pushes down.
CREATE INDEX ON customer_churn_features (snapshot_date);
CREATE INDEX ON active_customers (snapshot_date);

COMMIT;
