-- The W3C traceparent of the request that created a job (OpenTelemetry, when exported).
ALTER TABLE jobs ADD COLUMN traceparent TEXT;
