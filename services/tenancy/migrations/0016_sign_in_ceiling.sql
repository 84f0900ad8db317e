-- The ceiling on password checks per account (RELIABILITY A2): the times of an account's checks within the
-- last window (an hour by default), at most the ceiling's number; older ones are dropped as the row is
-- written, so nothing outlives its window for long (a reset clears it too).
ALTER TABLE tenancy.users ADD COLUMN recent_checks timestamptz[] NOT NULL DEFAULT '{}';
