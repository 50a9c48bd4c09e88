-- Job change notifications across processes: every change of a job's status or attempt
-- notifies the channel `sparta_job_changes` with the job id (delivered at commit). Each process
-- LISTENs once and wakes only the event streams and long polls of that job
-- (sparta_jobs::change_feed).
CREATE FUNCTION sparta_notify_job_change() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('sparta_job_changes', NEW.id::text);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER jobs_notify_change
    AFTER UPDATE OF status, attempt ON jobs
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.attempt IS DISTINCT FROM NEW.attempt)
    EXECUTE FUNCTION sparta_notify_job_change();
