//! Job change notifications (to be written): one in-process feed of job status changes, fed by
//! the store and, across processes, by Postgres `LISTEN/NOTIFY`.
