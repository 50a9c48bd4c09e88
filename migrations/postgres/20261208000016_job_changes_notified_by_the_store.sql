-- Job change notifications sent by the store after each statement that changes a job's status
-- or attempt (sparta_jobs::change_feed::notify_pg), as the SQLite store publishes them, instead
-- of by a statement-level trigger. The trigger's transition tables copied every updated row,
-- old and new, whole (the output included) for each claim and result write, lease renewals
-- among them: in a batch backlog's drain, disabling it took Postgres from 0.085 to 0.075 ms of
-- CPU a job and the drain from 13,600–14,100 to 15,300–15,500 jobs/s. The payload is unchanged
-- (the ids, comma-separated, 190 to a notification).
DROP TRIGGER jobs_notify_changes ON jobs;
DROP FUNCTION sparta_notify_job_changes();
