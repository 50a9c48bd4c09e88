-- The W3C traceparent of the request that created a job (OpenTelemetry, when exported): the
-- job's execution, result write and webhook deliveries continue that trace in other processes.
ALTER TABLE jobs ADD COLUMN traceparent text;
